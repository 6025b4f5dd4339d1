// Checks for the Swarm stack, on the file as `docker stack config` resolved
// it (or the source when no such command exists): what the compose schema
// cannot see, such as one broker, its placement and volume, and names and
// grace times that must agree.
"use strict";

const common = require("./common");

function argvOf(service) {
  const command = service.command;
  if (Array.isArray(command)) return command.map(String);
  return command ? String(command).trim().split(/\s+/) : [];
}

function envOf(service) {
  const env = {};
  const list = service.environment || {};
  if (Array.isArray(list)) {
    for (const item of list) {
      const eq = String(item).indexOf("=");
      if (eq > 0) env[String(item).slice(0, eq)] = String(item).slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(list)) {
      if (value !== null && value !== undefined) env[key] = String(value);
    }
  }
  return env;
}

// [{ type, source, path }] from short ("name:/path:rw") or long syntax.
function mountsOf(service) {
  return (service.volumes || []).map((v) => {
    if (typeof v === "string") {
      const [source, target] = v.split(":");
      if (target === undefined) return { type: "volume", source: "", path: source };
      return {
        type: source.startsWith("/") || source.startsWith(".") ? "bind" : "volume",
        source,
        path: target,
      };
    }
    return { type: v.type || "volume", source: v.source || "", path: v.target };
  });
}

function networksOf(service) {
  const nets = service.networks;
  if (!nets) return ["default"];
  return Array.isArray(nets) ? nets : Object.keys(nets);
}

function servicesRunning(stack, program) {
  return Object.entries(stack.services || {})
    .filter(([, s]) => {
      const argv = argvOf(s);
      return argv.length > 0 && argv[0].split("/").pop() === program;
    })
    .map(([name, service]) => ({ name, service }));
}

function brokerOf(ctx) {
  const found = servicesRunning(ctx.stack, "zjob-broker");
  if (found.length !== 1) return null;
  return { ...found[0], settings: common.brokerSettings(ctx.facts, envOf(found[0].service)) };
}

function checkBrokerReplicas(ctx) {
  const found = servicesRunning(ctx.stack, "zjob-broker");
  if (found.length !== 1)
    return [`expected one service running zjob-broker, found ${found.length}`];
  const deploy = found[0].service.deploy || {};
  const problems = [];
  if (deploy.mode === "global") problems.push("the broker is global: one broker per journal");
  if (deploy.replicas !== 1) problems.push(`deploy.replicas is ${deploy.replicas}; set 1`);
  const update = deploy.update_config || {};
  if (update.order !== "stop-first") {
    problems.push(
      `update_config.order is ${update.order}; stop-first keeps two ` + "brokers off one journal",
    );
  }
  if ((deploy.rollback_config || {}).order === "start-first") {
    problems.push("rollback_config.order is start-first");
  }
  return problems;
}

function checkBrokerPlacement(ctx) {
  const broker = brokerOf(ctx);
  if (!broker) return ["no single broker service"];
  const constraints = ((broker.service.deploy || {}).placement || {}).constraints || [];
  const pins = constraints.filter((c) => /^node\.(labels\.[\w.-]+|hostname|id)\s*==\s*\S+/.test(c));
  return pins.length > 0 ? [] : ["no placement constraint keeps the broker on its volume's node"];
}

// A dnsrr service has no virtual IP, so the routing mesh cannot publish it.
function checkBrokerPorts(ctx) {
  const broker = brokerOf(ctx);
  if (!broker) return ["no single broker service"];
  if ((broker.service.deploy || {}).endpoint_mode !== "dnsrr") return [];
  return (broker.service.ports || [])
    .filter((p) => typeof p !== "object" || p.mode !== "host")
    .map(
      (p) =>
        `port ${JSON.stringify(p)} uses the routing mesh, which dnsrr ` +
        "cannot have: publish with mode: host",
    );
}

function checkBrokerJournal(ctx) {
  const broker = brokerOf(ctx);
  if (!broker) return ["no single broker service"];
  const journal = broker.settings.journal;
  const mounts = mountsOf(broker.service);
  const mount = common.deepestMount(mounts, String(journal));
  if (!mount || mount.type !== "volume" || !mount.source) {
    return [`the journal ${journal} is not on a named volume`];
  }
  if (!Object.prototype.hasOwnProperty.call(ctx.stack.volumes || {}, mount.source)) {
    return [`volume ${mount.source} is not declared under volumes:`];
  }
  return [];
}

function checkBrokerHealth(ctx) {
  const broker = brokerOf(ctx);
  if (!broker) return ["no single broker service"];
  const health = broker.service.healthcheck;
  if (!health || health.disable) return ["the broker has no health check"];
  const test = Array.isArray(health.test) ? health.test.join(" ") : String(health.test || "");
  const port = broker.settings.httpPort;
  if (!test.includes("/healthz") || !test.includes(String(port))) {
    return [`the health check does not get /healthz on the http port ${port}`];
  }
  return [];
}

function checkWorkerBroker(ctx) {
  const broker = brokerOf(ctx);
  const workers = servicesRunning(ctx.stack, "zjob-worker");
  if (!broker || workers.length === 0) return ["expected one broker and a worker service"];
  const problems = [];
  for (const { name, service } of workers) {
    const value = envOf(service).ZJOB_BROKER;
    const endpoint = common.endpointParse(value);
    if (!endpoint) {
      problems.push(`${name}: ZJOB_BROKER '${value}' is not tcp://SERVICE:PORT`);
      continue;
    }
    if (endpoint.host !== broker.name) {
      problems.push(
        `${name}: ZJOB_BROKER names '${endpoint.host}', not the broker service '${broker.name}'`,
      );
    }
    if (endpoint.port !== broker.settings.workerPort) {
      problems.push(
        `${name}: ZJOB_BROKER port ${endpoint.port} is not the workers port ` +
          `${broker.settings.workerPort}`,
      );
    }
    const shared = networksOf(service).filter((n) => networksOf(broker.service).includes(n));
    if (shared.length === 0) problems.push(`${name} shares no network with the broker`);
  }
  return problems;
}

function checkGrace(ctx) {
  const problems = [];
  for (const { name, service } of servicesRunning(ctx.stack, "zjob-worker")) {
    const grace = envOf(service).ZJOB_GRACE;
    const drain = grace === undefined ? 30 : common.zjobSeconds(grace);
    const stop =
      service.stop_grace_period === undefined ? 10 : common.goSeconds(service.stop_grace_period);
    if (drain === null || stop === null) {
      problems.push(`${name}: cannot read ZJOB_GRACE '${grace}' or stop_grace_period`);
    } else if (!(stop > drain)) {
      problems.push(`${name}: stop_grace_period (${stop} s) must exceed ZJOB_GRACE (${drain} s)`);
    }
  }
  const broker = brokerOf(ctx);
  if (broker && broker.service.stop_grace_period === undefined) {
    problems.push("the broker has no stop_grace_period (the default is 10 s)");
  }
  return problems;
}

function checkQueues(ctx) {
  return servicesRunning(ctx.stack, "zjob-worker").flatMap(({ name, service }) =>
    common.queueProblems(envOf(service).ZJOB_QUEUE).map((p) => `${name}: ${p}`),
  );
}

function checkNetworks(ctx) {
  const problems = [];
  const used = new Set();
  for (const program of ["zjob-broker", "zjob-worker"]) {
    for (const { service } of servicesRunning(ctx.stack, program)) {
      networksOf(service).forEach((n) => used.add(n));
    }
  }
  for (const name of used) {
    const net = (ctx.stack.networks || {})[name];
    if (!net) {
      problems.push(`network ${name} is not declared (the default one is not attachable)`);
    } else if (!net.external && net.driver !== "overlay") {
      problems.push(`network ${name} has driver ${net.driver}; a stack spans nodes on overlay`);
    }
  }
  return problems;
}

function checkImages(ctx) {
  const images = new Set();
  for (const program of ["zjob-broker", "zjob-worker"]) {
    for (const { service } of servicesRunning(ctx.stack, program)) images.add(service.image);
  }
  return images.size === 1 ? [] : [`the zjob services use ${images.size} images: ${[...images]}`];
}

const CHECKS = [
  { name: "broker: one replica, stop-first updates", run: checkBrokerReplicas },
  { name: "broker: pinned to a node", run: checkBrokerPlacement },
  { name: "broker: journal on a named volume", run: checkBrokerJournal },
  { name: "broker: published ports fit dnsrr", run: checkBrokerPorts },
  { name: "broker: health check gets /healthz", run: checkBrokerHealth },
  { name: "worker: ZJOB_BROKER reaches the broker's worker port", run: checkWorkerBroker },
  { name: "grace: stop_grace_period exceeds ZJOB_GRACE", run: checkGrace },
  { name: "worker: ZJOB_QUEUE parses", run: checkQueues },
  { name: "networks: declared overlay networks", run: checkNetworks },
  { name: "images: one zjob image", run: checkImages },
];

module.exports = { CHECKS };
