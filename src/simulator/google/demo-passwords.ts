/**
 * The demo's app passwords, in Google's format (16 small letters). Made up: they work only in the
 * Google simulator, which the app reaches only in demo mode.
 */

/** The one shown on the demo sign-in page: every demo mailbox without a refusal accepts it. */
export const DEMO_APP_PASSWORD = 'demodemodemodemo';

/** The one the demo data stored for mailboxes that were already relinked before the demo starts. */
export const SEEDED_APP_PASSWORD = 'demoappxpassword';

/** As Google shows an app password: four groups of four letters. */
export const formatAppPassword = (p: string) => p.replace(/(.{4})(?=.)/g, '$1 ');
