import { loadConfig, PROJECT_ROOT, readEnvironment } from '../config.js';
import { startSimulator } from './server.js';

// `npm run simulator`: the Allegro simulator on its own, configured from the same environment as the app.
const env = readEnvironment(PROJECT_ROOT);
const config = loadConfig({ ...env, ALLEGRO_ENV: 'simulator', ALLEGRO_AUTH_URL: '', ALLEGRO_API_URL: '' });
const app = await startSimulator(config, { level: config.logLevel });
app.log.info(`Allegro simulator: ${config.allegro.authUrl} (client id ${config.allegro.clientId}, redirect ${config.allegro.redirectUri})`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
