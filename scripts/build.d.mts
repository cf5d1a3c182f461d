// Types of scripts/build.mjs (plain JavaScript: it runs before anything is compiled), for the tests.
export const ROOT: string;
export function fingerprint(src: string, files?: string[]): string;
export function isFresh(src: string, out: string): boolean;
export function build(src?: string, out?: string, entry?: string): Promise<number>;
export function ensureBuilt(src?: string, out?: string, entry?: string): Promise<boolean>;
