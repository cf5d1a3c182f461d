import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { createRequire } from 'node:module';
import type { OpenAPIV3 } from 'openapi-types';
import type { Exchange } from '../../src/simulator/app.js';

/**
 * Allegro's own spec, as the team received it in ../shared/allegro/ (copied into the repository so
 * that a clean clone can run the tests; test/unit/contract-copy.test.ts keeps the copy identical).
 */
export const SPEC_FILE = path.resolve(import.meta.dirname, '../contract/openapi-messaging.yaml');
export const SHARED_SPEC_FILE = path.resolve(import.meta.dirname, '../../../shared/allegro/openapi-messaging.yaml');

type Operation = OpenAPIV3.OperationObject;

// Both validators are CommonJS packages with an ES-style default export.
interface OpenAPIResponseValidator {
  validateResponse(status: number | string, body: unknown): undefined | { message: string; errors: unknown[] };
}
interface OpenAPIRequestValidator {
  validateRequest(req: unknown): undefined | { status: number; errors: unknown[] };
}
const require = createRequire(import.meta.url);
const OpenAPIResponseValidator = (require('openapi-response-validator') as { default: new (args: object) => OpenAPIResponseValidator }).default;
const OpenAPIRequestValidator = (require('openapi-request-validator') as { default: new (args: object) => OpenAPIRequestValidator }).default;

let spec: OpenAPIV3.Document | undefined;
function loadSpec(): OpenAPIV3.Document {
  spec ??= parse(readFileSync(SPEC_FILE, 'utf8')) as OpenAPIV3.Document;
  return spec;
}

/** The spec's operation for a simulator route (Fastify's :param is the spec's {param}). */
export function operationFor(method: string, route: string): { op: Operation; pathItem: OpenAPIV3.PathItemObject } | undefined {
  const s = loadSpec();
  const specPath = route.replace(/:([A-Za-z]+)/g, '{$1}');
  const pathItem = s.paths[specPath];
  const op = pathItem?.[method.toLowerCase() as 'get' | 'post'] as Operation | undefined;
  return op && pathItem ? { op, pathItem } : undefined;
}

const validators = new Map<string, { res: OpenAPIResponseValidator; req: OpenAPIRequestValidator }>();

function validatorsFor(method: string, route: string) {
  const key = `${method} ${route}`;
  let v = validators.get(key);
  if (!v) {
    const found = operationFor(method, route);
    if (!found) return undefined;
    const { op, pathItem } = found;
    const components = loadSpec().components!;
    v = {
      res: new OpenAPIResponseValidator({ responses: op.responses as never, components: components as never }),
      req: new OpenAPIRequestValidator({
        parameters: [...((pathItem.parameters ?? []) as never[]), ...((op.parameters ?? []) as never[])],
        requestBody: op.requestBody as never,
        componentSchemas: components.schemas as never,
        // Allegro's spec writes formats such as "BCP-47 language code"; they are documentation here.
        customFormats: { 'BCP-47 language code': () => true, int32: () => true, int64: () => true },
      } as never),
    };
    validators.set(key, v);
  }
  return v;
}

const parseBody = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** A validator of any status against one component schema, made once per schema. */
const bodyValidators = new Map<string, OpenAPIResponseValidator>();
function bodyValidator(schema: 'ErrorsHolder' | 'AuthError'): OpenAPIResponseValidator {
  let v = bodyValidators.get(schema);
  if (!v) {
    v = new OpenAPIResponseValidator({
      responses: { default: { content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } } },
      components: loadSpec().components,
    });
    bodyValidators.set(schema, v);
  }
  return v;
}

/** The content types the spec declares for a response status, if it declares a body. */
function declaredContent(op: Operation, status: number): string[] | undefined {
  const r = (op.responses[String(status)] ?? op.responses.default) as OpenAPIV3.ResponseObject | undefined;
  return r?.content ? Object.keys(r.content) : undefined;
}

/**
 * Checks one simulator exchange against the spec: the request (parameters and body the client sent)
 * and the response (status declared, body valid against its schema, content type as declared).
 * Returns the problems found; OAuth endpoints are not in the spec and are checked by the tests.
 */
export function checkExchange(x: Exchange): string[] {
  if (x.route.startsWith('/auth/')) return [];
  const found = operationFor(x.method, x.route);
  if (!found) return [`${x.method} ${x.route}: not in the spec`];
  const v = validatorsFor(x.method, x.route)!;
  const problems: string[] = [];
  const where = `${x.method} ${x.path} → ${x.statusCode}`;

  const params = Object.fromEntries((x.route.match(/:([A-Za-z]+)/g) ?? []).map((p, i) => [p.slice(1), decodeURIComponent(x.path.split('/')[x.route.split('/').indexOf(p)] ?? String(i))]));
  // Query values arrive as text; the spec's integers are compared as numbers (a non-number stays text and fails).
  const declared = [...((found.pathItem.parameters ?? []) as OpenAPIV3.ParameterObject[]), ...((found.op.parameters ?? []) as OpenAPIV3.ParameterObject[])];
  const query = Object.fromEntries(
    Object.entries(x.query).map(([k, val]) => {
      const p = declared.find((d) => d.in === 'query' && d.name === k);
      const type = (p?.schema as OpenAPIV3.SchemaObject | undefined)?.type;
      return [k, (type === 'integer' || type === 'number') && typeof val === 'string' && /^-?\d+(\.\d+)?$/.test(val) ? Number(val) : val];
    }),
  );
  const reqErr = v.req.validateRequest({ headers: x.headers, query, body: x.requestBody, params } as never);
  if (reqErr) problems.push(`${where}: request does not match the spec: ${JSON.stringify(reqErr.errors)}`);

  const { op } = found;
  const documented = op.responses[String(x.statusCode)] ?? op.responses.default;
  // Statuses every Allegro resource may answer (401, 406 for a wrong Accept, 429, 5xx) are not listed per operation.
  const generic = [401, 403, 406, 415, 429, 500, 502, 503, 504].includes(x.statusCode);
  if (!documented && !generic) problems.push(`${where}: status not documented for this operation`);
  const content = declaredContent(op, x.statusCode);
  if (content && x.statusCode < 300) {
    const ct = (x.contentType ?? '').split(';')[0]!.trim();
    if (!content.includes(ct)) problems.push(`${where}: content type ${ct} not one of ${content.join(', ')}`);
    const body = parseBody(x.responseBody);
    if (body === undefined) problems.push(`${where}: body is not JSON`);
    const resErr = v.res.validateResponse(x.statusCode, body);
    if (resErr) problems.push(`${where}: response does not match the spec: ${JSON.stringify(resErr.errors)}`);
  }
  if (x.statusCode >= 400) {
    // Error bodies: Allegro's AuthError for 401, its ErrorsHolder for everything else.
    const schema = x.statusCode === 401 ? 'AuthError' : 'ErrorsHolder';
    const body = parseBody(x.responseBody || '{}');
    const invalid = body === undefined || !!bodyValidator(schema).validateResponse(x.statusCode, body) || (schema === 'ErrorsHolder' && !Array.isArray((body as { errors?: unknown }).errors));
    if (invalid) problems.push(`${where}: ${x.statusCode === 401 ? '401 body is not an AuthError' : 'error body is not an ErrorsHolder'}`);
  }
  return problems;
}

/**
 * Records every exchange with the simulator and, when the test ends, asserts that all of them
 * matched the spec and that some API exchange happened at all.
 */
export function contractRecorder(t: TestContext, opts: { expectApi?: boolean } = {}) {
  // Loaded now: a missing spec fails the test at once, not in a hook that would keep servers open.
  loadSpec();
  const exchanges: Exchange[] = [];
  t.after(() => {
    const problems = exchanges.flatMap(checkExchange);
    if (problems.length) assert.fail(`every simulator exchange must match Allegro's spec; ${problems.length} did not: ${problems.join(' | ')}`);
    if (opts.expectApi !== false) assert.ok(exchanges.some((x) => !x.route.startsWith('/auth/')), 'the test made no API call to check');
  });
  return { exchanges, onExchange: (x: Exchange) => void exchanges.push(x) };
}
