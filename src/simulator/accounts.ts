import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { seeded } from './seeded.js';

export interface SimMessage {
  id: string;
  authorLogin: string;
  /** Written by the buyer (the interlocutor), not by the seller. */
  fromBuyer: boolean;
  text: string;
  createdAt: string;
}

export interface SimThread {
  id: string;
  buyerLogin: string;
  read: boolean;
  /** Newest first. */
  messages: SimMessage[];
}

export interface SimAccount {
  id: string;
  login: string;
  firstName: string;
  lastName: string;
  email: string;
  companyName: string | null;
  threads: SimThread[];
}

const BUYERS = ['kasia_zakupy', 'marek1987', 'ola.w', 'tomek_rowerzysta', 'ania_k', 'pan_jan', 'zosia_z_krakowa', 'bartek_dom', 'ewa.ogrod', 'michal_m'];
const QUESTIONS = [
  'Dzień dobry, kiedy wyślecie moje zamówienie?',
  'Czy ten produkt jest dostępny w kolorze czarnym?',
  'Dzień dobry, paczka jeszcze nie dotarła, czy mogę prosić o numer przesyłki?',
  'Czy mogę prosić o fakturę na firmę?',
  'Jak mogę zwrócić towar? Rozmiar nie pasuje.',
  'Czy wysyłacie za granicę?',
  'Dziękuję, wszystko dotarło w porządku!',
  'Czy można odebrać osobiście?',
];
const ANSWERS = [
  'Dzień dobry, zamówienie wysłaliśmy dzisiaj. Pozdrawiamy!',
  'Dzień dobry, tak – produkt jest dostępny. Pozdrawiamy.',
  'Dzień dobry, fakturę prześlemy w ciągu 24 godzin.',
];

const uuid = (rnd: () => number) =>
  'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(rnd() * 16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });

/** A demo Allegro account with `threadCount` conversations, the newest `now` minus a few hours. */
export function demoAccount(login: string, p: { now: Date; threadCount?: number; firstName?: string; lastName?: string; email?: string; companyName?: string | null }): SimAccount {
  const rnd = seeded(login);
  const count = p.threadCount ?? 3 + Math.floor(rnd() * 25);
  const threads: SimThread[] = [];
  let at = p.now.getTime() - (1 + Math.floor(rnd() * 5)) * 3_600_000;
  for (let i = 0; i < count; i++) {
    const buyer = BUYERS[Math.floor(rnd() * BUYERS.length)]!;
    const messages: SimMessage[] = [];
    const n = 1 + Math.floor(rnd() * 3);
    let t = at;
    for (let k = 0; k < n; k++) {
      const fromBuyer = k % 2 === 0;
      messages.push({
        id: uuid(rnd),
        authorLogin: fromBuyer ? buyer : login,
        fromBuyer,
        text: fromBuyer ? QUESTIONS[Math.floor(rnd() * QUESTIONS.length)]! : ANSWERS[Math.floor(rnd() * ANSWERS.length)]!,
        createdAt: new Date(t).toISOString(),
      });
      t -= (5 + Math.floor(rnd() * 120)) * 60_000;
    }
    // Stored newest first: the conversation was buyer, seller, buyer… going back in time.
    messages.reverse();
    messages.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    threads.push({ id: uuid(rnd), buyerLogin: buyer, read: rnd() > 0.4, messages });
    at -= (1 + Math.floor(rnd() * 48)) * 3_600_000;
  }
  const id = String(10_000_000 + Math.floor(rnd() * 89_999_999));
  return {
    id,
    login,
    firstName: p.firstName ?? 'Jan',
    lastName: p.lastName ?? 'Kowalski',
    email: p.email ?? `${login.replace(/[^a-z0-9]/gi, '')}@example.pl`,
    companyName: p.companyName === undefined ? null : p.companyName,
    threads,
  };
}

/** A second account nobody expects, to try "you authorized a different Allegro account". */
export const OTHER_DEMO_LOGIN = 'inne_konto_allegro';

/**
 * The demo's Allegro accounts: one for every Allegro login in the demo export (so every demo seller
 * can authorize), plus one that belongs to nobody.
 */
export function demoAccountsFromCsv(csvFile: string, now: Date): SimAccount[] {
  const rows = parse(readFileSync(csvFile), { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const seen = new Map<string, { name: string; email: string }>();
  for (const r of rows) {
    const login = r.allegro_login;
    if (login && !seen.has(login)) seen.set(login, { name: r.seller_name ?? '', email: r.seller_email ?? '' });
  }
  const accounts = [...seen].map(([login, s]) => {
    const [first, ...rest] = s.name.split('—')[0]!.trim().split(/\s+/);
    return demoAccount(login, { now, firstName: first ?? 'Jan', lastName: rest.join(' ') || 'Kowalski', email: s.email, companyName: s.name.split('—')[1]?.trim() ?? null });
  });
  accounts.push(demoAccount(OTHER_DEMO_LOGIN, { now, firstName: 'Inny', lastName: 'Użytkownik', threadCount: 2 }));
  return accounts;
}
