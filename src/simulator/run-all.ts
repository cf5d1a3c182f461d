import { loadConfig, PROJECT_ROOT, readEnvironment } from '../config.js';
import { startGoogleSimulator, describeGoogleSimulator } from './google/server.js';
import { startSimulator } from './server.js';

// `npm run simulators`: the Allegro and the Google simulator together, as the demo starts them beside
// the app, configured from the same environment (ports PORT+1 and PORT+2…4 unless set).
const config = loadConfig({ ...readEnvironment(PROJECT_ROOT), DEMO: '1', ALLEGRO_ENV: 'simulator', ALLEGRO_AUTH_URL: '', ALLEGRO_API_URL: '', GOOGLE_SIMULATOR: '1' });
const google = await startGoogleSimulator(config.googleSimulator!, { demoDir: config.demoDir });
const allegro = await startSimulator(config, { level: config.logLevel }).catch(async (err: unknown) => {
  await google.close();
  throw err;
});
allegro.log.info(`Allegro simulator: ${config.allegro.authUrl}`);
allegro.log.info(describeGoogleSimulator(google));
const stop = () => void Promise.all([allegro.close(), google.close()]).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
