/** Excel (Polish locale) reads UTF-8 only with a BOM, and splits on ";" (the comma is the decimal mark). */
export const CSV_BOM = '\uFEFF';
export const CSV_SEPARATOR = ';';

/** Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: text that a spreadsheet would run as a formula gets a leading apostrophe; a cell
 * with the separator, a quote or a line break is quoted (quotes doubled). Numbers are written as they are.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let s = value;
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[";\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV line with CRLF, as RFC 4180 and Excel expect. */
export function csvLine(values: (string | number | null | undefined)[]): string {
  return values.map(csvCell).join(CSV_SEPARATOR) + '\r\n';
}
