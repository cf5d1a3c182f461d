import { loadConfig, PROJECT_ROOT, readEnvironment } from '../../config.js';
import { describeGoogleSimulator, startGoogleSimulator } from './server.js';

// `npm run simulator:google`: the Google simulator alone, configured from the same environment as the app.
const config = loadConfig({ ...readEnvironment(PROJECT_ROOT), DEMO: '1', GOOGLE_SIMULATOR: '1' });
const sim = await startGoogleSimulator(config.googleSimulator!, { demoDir: config.demoDir });
console.log(describeGoogleSimulator(sim));
console.log(`Its certificate authority: ${config.googleSimulator!.dir}/ca.pem`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
