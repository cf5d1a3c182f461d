import Handlebars from 'handlebars';

/**
 * A template's fixed texts put in when it is compiled for one language: `{{t "key"}}` (a text that
 * takes no values) becomes the text itself, escaped as the helper's answer would be, and `(t "key")`
 * inside another helper's arguments becomes the text as a string. The catalogs never change while
 * the process runs, so this is the same HTML the helper would give on every request; a page makes
 * dozens of these calls. Anything else (a key from data, values, `{{{t …}}}`) is left to the helper.
 */
export function compileWithTexts(hbs: typeof Handlebars, source: string, text: (key: string) => string, options?: CompileOptions): Handlebars.TemplateDelegate {
  // Parsed at its first use, as handlebars compiles: a start does not wait for templates it may not need.
  let template: Handlebars.TemplateDelegate | undefined;
  return (context, runtimeOptions) => {
    if (!template) {
      const ast = Handlebars.parse(source);
      new FixedTexts(text, hbs.escapeExpression).accept(ast);
      template = hbs.compile(ast, options);
    }
    return template(context, runtimeOptions);
  };
}

type Call = hbs.AST.MustacheStatement | hbs.AST.SubExpression;

/** The key of a `t` call that takes a constant key and nothing else, or null. */
function fixedKey(node: Call): string | null {
  const p = node.path as hbs.AST.PathExpression;
  if (p.type !== 'PathExpression' || p.original !== 't' || p.data || p.depth !== 0) return null;
  if (node.hash || node.params.length !== 1 || node.params[0]!.type !== 'StringLiteral') return null;
  return (node.params[0] as hbs.AST.StringLiteral).value;
}

class FixedTexts extends Handlebars.Visitor {
  constructor(
    private readonly text: (key: string) => string,
    private readonly escape: (s: string) => string,
  ) {
    super();
    // The visitor replaces a node by what a visit returns.
    (this as unknown as { mutating: boolean }).mutating = true;
  }

  override MustacheStatement(m: hbs.AST.MustacheStatement): void {
    const key = m.escaped ? fixedKey(m) : null;
    if (key === null) return super.MustacheStatement(m);
    const html = this.escape(this.text(key));
    return { type: 'ContentStatement', original: html, value: html, loc: m.loc } as never;
  }

  override SubExpression(s: hbs.AST.SubExpression): void {
    const key = fixedKey(s);
    if (key === null) return super.SubExpression(s);
    const value = this.text(key);
    return { type: 'StringLiteral', value, original: value, loc: s.loc } as never;
  }
}
