import { join } from 'node:path';
import { AgentProcess } from '../stack/agent-process.js';
import { CarrierProcess } from '../stack/carrier-process.js';
import { GatewayProcess } from '../stack/gateway-process.js';
import type { StackLifecycle } from '../stack/lifecycle.js';
import { yieldToOrders } from '../stack/process-priority.js';
import { portInUse } from '../stack/start-errors.js';
import { CLUSTER_REPLICAS } from './machines.js';
import { type ClusterPlan, natsUrlsFor } from './plan.js';

// The rehearsal's stateless processes — the gateways, the shipping agent and the fake carrier —
// which belong to no machine: each lists all three NATS nodes, and they start on different ones,
// so their connections spread over the cluster as they would in production.

const logFile = (plan: ClusterPlan, name: string) => join(plan.logDir, `${name}.log`);

/** Every node, starting with the `i`-th (modulo three): where process `i` connects first. */
function natsUrlStartingAt(plan: ClusterPlan, i: number): string {
  const ports = plan.machines.map((machine) => machine.natsPort);
  return natsUrlsFor(ports, i % ports.length).join(',');
}

export async function startCarrier(plan: ClusterPlan, stack: StackLifecycle) {
  stack.checkNotStopping();
  const carrier = await CarrierProcess.start({
    ownProcessGroup: true,
    logFile: logFile(plan, 'fake-carrier'),
    env: {
      CARRIER_PORT: String(plan.carrierPort),
      CARRIER_HOST: '127.0.0.1',
      LOG_LEVEL: plan.logLevel,
    },
  }).catch(portInUse('the fake carrier', 'CARRIER_PORT'));
  yieldToOrders(carrier);
  return carrier;
}

export async function startAgent(
  plan: ClusterPlan,
  carrier: CarrierProcess,
  stack: StackLifecycle,
) {
  stack.checkNotStopping();
  const agent = await AgentProcess.start({
    natsUrl: natsUrlStartingAt(plan, plan.machines.length - 1),
    carrierUrl: plan.carrierUrl ?? carrier.url,
    ownProcessGroup: true,
    logFile: logFile(plan, 'shipping-agent'),
    env: {
      LOG_LEVEL: plan.logLevel,
      AGENT_METRICS_PORT: String(plan.agentMetricsPort),
      // For its own streams and bucket (dead letters, notifications, stop releases), once it
      // reads the setting as the engine does.
      JETSTREAM_REPLICAS: String(CLUSTER_REPLICAS),
    },
  }).catch(portInUse('the shipping agent', 'AGENT_METRICS_PORT'));
  yieldToOrders(agent);
  return agent;
}

export function startGateways(plan: ClusterPlan, stack: StackLifecycle) {
  stack.checkNotStopping();
  return Promise.all(
    plan.gatewayPorts.map((port, i) =>
      GatewayProcess.start({
        natsUrl: natsUrlStartingAt(plan, i),
        jwtSecret: plan.jwtSecret,
        port,
        ownProcessGroup: true,
        logFile: logFile(plan, `gateway-${i + 1}`),
        env: {
          LOG_LEVEL: plan.logLevel,
          HOST: plan.gatewayHost,
          GATEWAY_ID: `gateway-${i + 1}`,
        },
      }).catch(portInUse(`gateway ${i + 1}`, 'PORT (gateways listen on PORT, PORT+1, …)')),
    ),
  );
}
