// `npm run web`: webhooks and health only (run workers beside it with `npm run worker`). Wiring only.
import {
  appCredentials,
  createLogger,
  environment,
  exit,
  loadDotEnv,
  onShutdown,
  openServices,
  startWeb,
} from "./boot.ts";
import { startTracing } from "../lib/telemetry.ts";

loadDotEnv();
// First, so every span is recorded: on only when the OTEL_* variables ask for traces.
const tracing = await startTracing();
const env = environment();
const log = createLogger();
const credentials =
  appCredentials(env) ??
  exit("APP_ID and PRIVATE_KEY are required; `npm start` shows the setup page without them.");
const services = await openServices(env, log);
const web = await startWeb(services, credentials);
onShutdown(log, [() => web.stop(), services.close, async () => tracing?.shutdown()]);
