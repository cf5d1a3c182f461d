import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { IMPORT_COLUMNS } from '../src/import/import.js';

// Own domains from the demo's MX table (MX_RESOLVER=demo answers them offline): some Google-hosted, some not.
const DOMAINS = ['meble-olszewski.pl', 'kawiarnia-aromat.pl', 'drukarnia-grafik.pl', 'bio-spizarnia.pl', 'sportowy-swiat.pl', 'zlota-raczka.com.pl', 'kosmetyki-natura.pl', 'akwarystyka-nemo.pl'];

/**
 * Writes an export of `rows` rows shaped like the main system's: one seller per row group, a mailbox
 * each (60% @gmail.com, the rest on an own domain), one autoresponder per row (v1/v2, some v3), a
 * password on half of them. Streamed: a million rows never sit in memory.
 */
export async function writeImportFile(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('\uFEFF' + IMPORT_COLUMNS.join(';') + '\n');
  for (let i = 0; i < rows; i++) {
    const seller = Math.floor(i / 2);
    const gmail = seller % 5 < 3;
    const domain = DOMAINS[seller % DOMAINS.length]!;
    const mailbox = gmail ? `sklep.${seller}@gmail.com` : `biuro${seller}@${domain}`;
    const [imap, smtp] = gmail ? ['imap.gmail.com', 'smtp.gmail.com'] : [`mail.${domain}`, `mail.${domain}`];
    const version = i % 7 === 0 ? 3 : (i % 2) + 1;
    const password = seller % 2 === 0 ? `Haslo-${seller}-x` : '';
    const line = `S${seller};sprzedawca${seller}@example.pl;Sklep ${seller};sklep_${seller};AR${i};${version};${mailbox};${imap};993;${smtp};465;${password}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

if (process.argv[1]?.endsWith('import-file.ts')) {
  const [file, rows] = process.argv.slice(2);
  await writeImportFile(file!, Number(rows));
}
