import type { AppConfig } from '../config.js';
import type { Repositories } from '../repositories/index.js';
import { DEFAULT_LANG, type Lang } from '../i18n/index.js';
import { readGoogleDemoFile, type DemoSituation } from '../simulator/google/directory.js';
import { DEMO_APP_PASSWORD, formatAppPassword } from '../simulator/google/demo-passwords.js';

/** Situations that are Google's answers to a login; the others are states of a migration. */
const GOOGLE_ANSWERS = new Set<DemoSituation>(['appPasswordRequired', 'invalidCredentials', 'webLoginRequired', 'imapDisabled', 'imapDisabledForDomain', 'tooManyConnections', 'tooManyLogins']);

export interface DemoSignInSeller {
  id: number;
  name: string;
  email: string;
  situation: DemoSituation;
  /** The seller's language, when it is not Polish: the pages and e-mails after "Zaloguj jako" are in it. */
  otherLanguage: Lang | null;
}

export interface DemoSignIn {
  /** The demo's good app password as Google shows it (four groups), or null when the Google simulator is off. */
  appPassword: string | null;
  groups: { key: 'states' | 'googleAnswers'; sellers: DemoSignInSeller[] }[];
}

/**
 * The demo's one-click sign-in: the list for the sign-in page, and signing in as a listed seller
 * (audited as a demo sign-in). Outside demo mode there is none (the caller gets null).
 */
export function createDemoSignIn(repos: Repositories, config: Pick<AppConfig, 'demo' | 'demoDir' | 'googleSimulator'>) {
  if (!config.demo) return null;
  const list = demoSignInList(repos, config);
  return {
    list,
    /** The seller id when it is a listed demo seller (the sign-in is then audited), else null. */
    signInAs(raw: unknown): number | null {
      const id = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
      if (!list().groups.some((g) => g.sellers.some((s) => s.id === id))) return null;
      repos.audit.record({ type: 'seller', id }, id, { action: 'seller.signed_in', details: { demo: true } });
      return id;
    },
  };
}

/**
 * The demo sign-in page's list (data/demo/google.json "signIn"): demo sellers by situation, in two
 * groups. Sellers not in the database (the demo not loaded, or DEMO data changed) are left out.
 */
function demoSignInList(repos: Repositories, config: Pick<AppConfig, 'demoDir' | 'googleSimulator'>): () => DemoSignIn {
  const entries = readGoogleDemoFile(config.demoDir).signIn;
  let cached: DemoSignIn | undefined;
  return () => {
    if (cached) return cached;
    const states: DemoSignInSeller[] = [];
    const answers: DemoSignInSeller[] = [];
    for (const e of entries) {
      const seller = repos.sellers.findByExternalId(e.seller);
      if (!seller) continue;
      (GOOGLE_ANSWERS.has(e.situation) ? answers : states).push({ id: seller.id, name: seller.name, email: seller.email, situation: e.situation, otherLanguage: seller.language === DEFAULT_LANG ? null : seller.language });
    }
    const list: DemoSignIn = {
      appPassword: config.googleSimulator ? formatAppPassword(DEMO_APP_PASSWORD) : null,
      groups: [
        { key: 'states' as const, sellers: states },
        // Google's answers only mean something when the simulator gives them.
        { key: 'googleAnswers' as const, sellers: config.googleSimulator ? answers : [] },
      ].filter((g) => g.sellers.length > 0),
    };
    // Kept once the demo is in the database (the server loads it before it listens).
    if (states.length + answers.length > 0) cached = list;
    return list;
  };
}
