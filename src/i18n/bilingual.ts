import type { I18n } from './index.js';

/**
 * A text for readers of either language at once, Polish first: "pole jest wymagane / required".
 * For output that has no reader's language to go by: the command line and the import summary.
 */
export function bilingual(i18n: I18n, key: string, vars?: Record<string, unknown>): string {
  return `${i18n.t('pl')(key, vars as never)} / ${i18n.t('en')(key, vars as never)}`;
}
