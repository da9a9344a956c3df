import type { Env as AppEnv } from "../src/env.js";
import type * as TestWorker from "./worker.js";

/** The test Worker's bindings: the app's, plus one namespace per test-only Attractor class. */
interface TestEnv extends AppEnv {
  CRITICAL_ATTRACTOR: DurableObjectNamespace<TestWorker.CriticalAttractor>;
  NO_REFORGE_ATTRACTOR: DurableObjectNamespace<TestWorker.NoReforgeAttractor>;
  BEFORE_GRACE_ATTRACTOR: DurableObjectNamespace<TestWorker.BeforeGraceAttractor>;
  DURING_GRACE_ATTRACTOR: DurableObjectNamespace<TestWorker.DuringGraceAttractor>;
  AFTER_GRACE_ATTRACTOR: DurableObjectNamespace<TestWorker.AfterGraceAttractor>;
  REFUSE_ALL_ATTRACTOR: DurableObjectNamespace<TestWorker.RefuseAllAttractor>;
  CAPACITY_ATTRACTOR: DurableObjectNamespace<TestWorker.CapacityAttractor>;
  FLAKY_ATTRACTOR: DurableObjectNamespace<TestWorker.FlakyAttractor>;
  SENDER_ATTRACTOR: DurableObjectNamespace<TestWorker.SenderAttractor>;
  FAULTY_ORDER_ATTRACTOR: DurableObjectNamespace<TestWorker.FaultyOrderAttractor>;
  CURVED_HOT_ATTRACTOR: DurableObjectNamespace<TestWorker.CurvedHotAttractor>;
  CRITICAL_HOT_ATTRACTOR: DurableObjectNamespace<TestWorker.CriticalHotAttractor>;
  FAULTY_HOT_ATTRACTOR: DurableObjectNamespace<TestWorker.FaultyHotAttractor>;
}

declare global {
  namespace Cloudflare {
    interface Env extends TestEnv {}
  }
}
