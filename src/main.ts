import { ConfigError, loadConfig } from './config';
import { defaultModules } from './modules';
import { createLogger, startDepot } from './service';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  // A stray rejection (e.g. a client that vanished mid-stream) is logged, never fatal: state lives
  // in the database, and the reaper and job leases finish whatever was interrupted.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const depot = await startDepot(config, { log, modules: defaultModules() });
  // eslint-disable-next-line no-console
  console.log(`Depot serving on ${depot.url} (data: ${config.dataDir}${config.auth === 'tokens' ? `, tokens: ${config.tokensFile}` : ''})`);
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await depot.close().catch((err) => log.error({ err }, 'error while stopping'));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  // A configuration mistake is the operator's to fix: one line naming the file (or variable) and
  // the key, exit status 2. Anything else is a failure worth its stack.
  if (err instanceof ConfigError) {
    process.stderr.write(`config error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Depot failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
