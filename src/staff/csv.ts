import { stringify, type Options } from 'csv-stringify/sync';

/** Excel (Polish locale) reads UTF-8 only with a BOM, and splits on ";" (the comma is the decimal mark). */
export const CSV_BOM = '\uFEFF';
export const CSV_SEPARATOR = ';';

const OPTIONS: Options = {
  delimiter: CSV_SEPARATOR,
  record_delimiter: 'windows', // CRLF, as RFC 4180 and Excel expect
  // With an explicit record delimiter csv-stringify would quote only a whole CRLF, not a lone \n or \r.
  quote_record_delimiter: true,
  // Text that a spreadsheet would run as a formula (= + - @, tab or CR first, or their full-width
  // forms: OWASP "CSV injection") gets a leading apostrophe; numbers, negative ones too, stay as they are.
  escape_formulas: true,
  // Quoted besides a separator, a quote or a line break: leading or trailing spaces, which readers may trim.
  quoted_match: /^\s|\s$/,
};

/**
 * One CSV cell: text that a spreadsheet would run as a formula gets a leading apostrophe; a cell
 * with the separator, a quote or a line break is quoted (quotes doubled). Numbers are written as they are.
 */
export function csvCell(value: string | number | null | undefined): string {
  return stringify([[value]], { ...OPTIONS, eof: false });
}

/** A CSV line with CRLF, as RFC 4180 and Excel expect; `;` unless told (an English export uses `,`). */
export function csvLine(values: (string | number | null | undefined)[], delimiter: string = CSV_SEPARATOR): string {
  return stringify([values], { ...OPTIONS, delimiter });
}
