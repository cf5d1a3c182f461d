import { seeded } from '../seeded.js';

export interface DemoMessage {
  fromName: string;
  fromAddress: string;
  subject: string;
  date: Date;
  text: string;
  seen: boolean;
}

const BUYERS = ['kasia_zakupy', 'marek1987', 'ola.w', 'tomek_rowerzysta', 'ania_k', 'pan_jan', 'zosia_z_krakowa', 'bartek_dom', 'ewa.ogrod', 'michal_m'];
const QUESTIONS = [
  'Kiedy wyślecie moje zamówienie?',
  'Czy ten produkt jest dostępny w kolorze czarnym?',
  'Paczka jeszcze nie dotarła, czy mogę prosić o numer przesyłki?',
  'Czy mogę prosić o fakturę na firmę?',
  'Jak mogę zwrócić towar? Rozmiar nie pasuje.',
  'Czy wysyłacie za granicę?',
  'Czy można odebrać osobiście?',
];
/** What a Gmail inbox of a small Allegro shop holds besides Allegro's messages. */
const OTHERS: Omit<DemoMessage, 'date' | 'seen'>[] = [
  { fromName: 'InPost', fromAddress: 'powiadomienia@inpost.pl', subject: 'Twoja paczka została nadana', text: 'Paczka jest w drodze do Paczkomatu.' },
  { fromName: 'Google', fromAddress: 'no-reply@accounts.google.com', subject: 'Alert bezpieczeństwa', text: 'Nowe logowanie na Twoim koncie Google.' },
  { fromName: 'Biuro rachunkowe Saldo', fromAddress: 'biuro@saldo-ksiegowosc.pl', subject: 'Dokumenty za poprzedni miesiąc', text: 'Prosimy o przesłanie faktur kosztowych do 5. dnia miesiąca.' },
  { fromName: 'Hurtownia Opakowań', fromAddress: 'zamowienia@opakowania-hurt.pl', subject: 'Potwierdzenie zamówienia kartonów', text: 'Zamówienie zostanie wysłane jutro.' },
  { fromName: 'Newsletter Poradnik Sprzedawcy', fromAddress: 'newsletter@poradnik-sprzedawcy.pl', subject: 'Jak przygotować sklep na sezon?', text: 'Pięć porad na nadchodzące tygodnie.' },
];

/**
 * A demo mailbox's INBOX, oldest first: 5 to 12 messages of the last days, about half of them Allegro's
 * notices of buyers' messages (from allegro.pl, so "Pobierz e-maile" has some to show).
 */
export function demoInbox(address: string, now: Date): DemoMessage[] {
  const rnd = seeded(address.toLowerCase());
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
  const count = 5 + Math.floor(rnd() * 8);
  const messages: DemoMessage[] = [];
  let at = now.getTime() - (10 + Math.floor(rnd() * 50)) * 60_000;
  for (let i = 0; i < count; i++) {
    // The newest is always from Allegro, so every inbox has at least one.
    if (i === 0 || rnd() < 0.5) {
      const buyer = pick(BUYERS);
      const question = pick(QUESTIONS);
      messages.push({
        fromName: 'Allegro',
        fromAddress: 'powiadomienia@allegro.pl',
        subject: `Nowa wiadomość od kupującego ${buyer}`,
        text: `Kupujący ${buyer} napisał: „${question}” Odpowiedz w Centrum wiadomości Allegro.`,
        date: new Date(at),
        seen: i > 1 && rnd() < 0.7,
      });
    } else {
      messages.push({ ...pick(OTHERS), date: new Date(at), seen: rnd() < 0.8 });
    }
    at -= (20 + Math.floor(rnd() * 600)) * 60_000;
  }
  return messages.reverse();
}

const encodeWord = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`);

/** The message as an RFC 5322 source (headers and a short plain-text body). */
export function rawMessage(m: DemoMessage, to: string, id: string): string {
  return [
    `From: ${encodeWord(m.fromName)} <${m.fromAddress}>`,
    `To: ${to}`,
    `Subject: ${encodeWord(m.subject)}`,
    `Date: ${m.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${id}@symulator-google.demo>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(m.text, 'utf8').toString('base64'),
  ].join('\r\n');
}
