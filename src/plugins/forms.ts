import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';

/**
 * What a POST route's form may carry: its field names (taken from the route's zod schema where it
 * has one) and, for forms with numbered fields (text_1, text_2…), their prefix. Every POST route
 * declares one in its config (`config: { form }`), reads its body only through `formBody`, and the
 * security suite fuzzes exactly these fields (test/security/fuzz.test.ts reads them from the route
 * table), so a new field cannot escape the fuzz.
 */
export interface FormSpec {
  fields: readonly string[];
  /** Numbered fields: `${prefix}${n}`; the fuzz tries a few numbers. */
  numbered?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    form?: FormSpec;
  }
}

/** A form's spec from its zod schema's keys, plus fields the route reads beside the schema. */
export function formOf(schema: z.ZodObject | null, ...extra: string[]): FormSpec {
  return { fields: [...new Set([...(schema ? Object.keys(schema.shape) : []), ...extra])] };
}

/** A form with numbered fields only (text_1, text_2…). */
export const numberedForm = (prefix: string, ...extra: string[]): FormSpec => ({ fields: extra, numbered: prefix });

/** A form without fields (a button; the CSRF token is checked for every POST). */
export const NO_FIELDS: FormSpec = { fields: [] };

/**
 * The request's body reduced to the fields its route declared (numbered ones by their prefix);
 * anything else a client sends is not read.
 */
export function formBody(req: FastifyRequest): Record<string, unknown> {
  const spec = req.routeOptions.config.form;
  const raw = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
  if (!spec) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (spec.fields.includes(k) || (spec.numbered && k.startsWith(spec.numbered))) out[k] = v;
  }
  return out;
}
