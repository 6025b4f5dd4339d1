// Broken copies of good manifests for the self-test: each mutation must make
// the check named in `expect` fail, which shows the checks can fail.
"use strict";

function find(objects, kind, name) {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`mutation needs ${kind}/${name}`);
  return obj;
}

const broker = (objs) => find(objs, "StatefulSet", "zjob-broker");
const brokerPod = (objs) => broker(objs).spec.template.spec;
const brokerBox = (objs) => brokerPod(objs).containers[0];
const worker = (objs) => find(objs, "Deployment", "zjob-worker");
const workerPod = (objs) => worker(objs).spec.template.spec;
const workerBox = (objs) => workerPod(objs).containers[0];
const service = (objs) => find(objs, "Service", "zjob-broker");

function envSet(container, name, value) {
  const item = container.env.find((e) => e.name === name);
  if (item) item.value = value;
  else container.env.push({ name, value });
}

const K8S = [
  {
    name: "a misspelt pod field",
    expect: "fields StatefulSet/zjob-broker",
    mutate(o) {
      const s = brokerPod(o);
      s.terminationGracePeriodSecond = s.terminationGracePeriodSeconds;
      delete s.terminationGracePeriodSeconds;
    },
  },
  {
    name: "an unknown field deep in a probe",
    expect: "fields StatefulSet/zjob-broker",
    mutate(o) {
      brokerBox(o).livenessProbe.httpGet.host_port = 5580;
    },
  },
  {
    name: "an enumeration value that does not exist",
    expect: "fields StatefulSet/zjob-broker",
    mutate(o) {
      broker(o).spec.podManagementPolicy = "Ordered";
    },
  },
  {
    name: "a containerPort given as a string",
    expect: "schema StatefulSet/zjob-broker",
    mutate(o) {
      brokerBox(o).ports[0].containerPort = "5570";
    },
  },
  {
    name: "a container without a name",
    expect: "schema Deployment/zjob-worker",
    mutate(o) {
      delete workerBox(o).name;
    },
  },
  {
    name: "a Service type that does not exist",
    expect: "schema Service/zjob-broker",
    mutate(o) {
      service(o).spec.type = "Internal";
    },
  },
  {
    name: "two broker replicas",
    expect: "broker: one StatefulSet",
    mutate(o) {
      broker(o).spec.replicas = 2;
    },
  },
  {
    name: "the broker as a Deployment",
    expect: "broker: one StatefulSet",
    mutate(o) {
      broker(o).kind = "Deployment";
    },
  },
  {
    name: "the journal claim mounted elsewhere",
    expect: "broker: journal",
    mutate(o) {
      brokerBox(o).volumeMounts[0].mountPath = "/data";
    },
  },
  {
    name: "the journal moved off the claim",
    expect: "broker: journal",
    mutate(o) {
      envSet(brokerBox(o), "ZJOB_JOURNAL", "/tmp/journal");
    },
  },
  {
    name: "a claim shared by many nodes",
    expect: "broker: journal",
    mutate(o) {
      broker(o).spec.volumeClaimTemplates[0].spec.accessModes = ["ReadWriteMany"];
    },
  },
  {
    name: "the workers port not declared",
    expect: "broker: client, worker",
    mutate(o) {
      brokerBox(o).ports.splice(1, 1);
    },
  },
  {
    name: "a probe on an undeclared port",
    expect: "broker: probes",
    mutate(o) {
      brokerBox(o).readinessProbe.httpGet.port = 8080;
    },
  },
  {
    name: "a probe on another path",
    expect: "broker: probes",
    mutate(o) {
      brokerBox(o).livenessProbe.httpGet.path = "/";
    },
  },
  {
    name: "no readiness probe",
    expect: "broker: probes",
    mutate(o) {
      delete brokerBox(o).readinessProbe;
    },
  },
  {
    name: "serviceName naming no Service",
    expect: "broker: serviceName",
    mutate(o) {
      broker(o).spec.serviceName = "zjob";
    },
  },
  {
    name: "no scrape annotations",
    expect: "broker: ClusterIP Service",
    mutate(o) {
      delete service(o).metadata.annotations;
    },
  },
  {
    name: "a Service port targeting an undeclared name",
    expect: "services:",
    mutate(o) {
      service(o).spec.ports[2].targetPort = "metrics";
    },
  },
  {
    name: "a Service selecting nothing",
    expect: "services:",
    mutate(o) {
      service(o).spec.selector["app.kubernetes.io/component"] = "brokers";
    },
  },
  {
    name: "a selector that misses the template labels",
    expect: "selectors match",
    mutate(o) {
      worker(o).spec.template.metadata.labels["app.kubernetes.io/component"] = "wrk";
    },
  },
  {
    name: "ZJOB_BROKER on the client port",
    expect: "worker: ZJOB_BROKER",
    mutate(o) {
      envSet(workerBox(o), "ZJOB_BROKER", "tcp://zjob-broker:5570");
    },
  },
  {
    name: "ZJOB_BROKER naming no Service",
    expect: "worker: ZJOB_BROKER",
    mutate(o) {
      envSet(workerBox(o), "ZJOB_BROKER", "tcp://broker:5571");
    },
  },
  {
    name: "a stop grace equal to ZJOB_GRACE",
    expect: "grace:",
    mutate(o) {
      workerPod(o).terminationGracePeriodSeconds = 20;
    },
  },
  {
    name: "a ZJOB_GRACE longer than the stop grace",
    expect: "grace:",
    mutate(o) {
      envSet(workerBox(o), "ZJOB_GRACE", "1m");
    },
  },
  {
    name: "a queue with no handler",
    expect: "worker: ZJOB_QUEUE",
    mutate(o) {
      envSet(workerBox(o), "ZJOB_QUEUE", "echo;thumbs");
    },
  },
  {
    name: "running as root",
    expect: "security:",
    mutate(o) {
      workerPod(o).securityContext.runAsUser = 0;
    },
  },
  {
    name: "runAsNonRoot without a numeric uid",
    expect: "security:",
    mutate(o) {
      delete brokerPod(o).securityContext.runAsUser;
    },
  },
  {
    name: "no fsGroup on the broker",
    expect: "security:",
    mutate(o) {
      delete brokerPod(o).securityContext.fsGroup;
    },
  },
  {
    name: "no memory limit",
    expect: "resources:",
    mutate(o) {
      delete workerBox(o).resources.limits;
    },
  },
  {
    name: "two different images",
    expect: "images:",
    mutate(o) {
      workerBox(o).image = "zjob:other";
    },
  },
  {
    name: "an autoscaler on the broker",
    expect: "autoscalers:",
    mutate(o) {
      const h = find(o, "HorizontalPodAutoscaler", "zjob-worker");
      h.spec.scaleTargetRef.kind = "StatefulSet";
      h.spec.scaleTargetRef.name = "zjob-broker";
    },
  },
];

const swarmBroker = (s) => s.services.broker;
const swarmWorker = (s) => s.services.worker;

const SWARM = [
  {
    name: "two broker replicas",
    expect: "broker: one replica",
    mutate(s) {
      swarmBroker(s).deploy.replicas = 2;
    },
  },
  {
    name: "start-first broker updates",
    expect: "broker: one replica",
    mutate(s) {
      swarmBroker(s).deploy.update_config.order = "start-first";
    },
  },
  {
    name: "a global broker",
    expect: "broker: one replica",
    mutate(s) {
      swarmBroker(s).deploy.mode = "global";
    },
  },
  {
    name: "an unpinned broker",
    expect: "broker: pinned",
    mutate(s) {
      delete swarmBroker(s).deploy.placement;
    },
  },
  {
    name: "a routing-mesh port on a dnsrr broker",
    expect: "broker: published ports",
    mutate(s) {
      swarmBroker(s).ports = [{ target: 5570, published: 5570, mode: "ingress" }];
    },
  },
  {
    name: "the journal without a volume",
    expect: "broker: journal",
    mutate(s) {
      swarmBroker(s).volumes = [];
    },
  },
  {
    name: "a health check on another port",
    expect: "broker: health",
    mutate(s) {
      swarmBroker(s).healthcheck.test = ["CMD", "true", "/healthz", "8080"];
    },
  },
  {
    name: "ZJOB_BROKER naming another host",
    expect: "worker: ZJOB_BROKER",
    mutate(s) {
      swarmWorker(s).environment.ZJOB_BROKER = "tcp://zjob-broker:5571";
    },
  },
  {
    name: "ZJOB_BROKER on the client port",
    expect: "worker: ZJOB_BROKER",
    mutate(s) {
      swarmWorker(s).environment.ZJOB_BROKER = "tcp://broker:5570";
    },
  },
  {
    name: "the default stop grace (10 s)",
    expect: "grace:",
    mutate(s) {
      delete swarmWorker(s).stop_grace_period;
    },
  },
  {
    name: "a queue with an unknown handler kind",
    expect: "worker: ZJOB_QUEUE",
    mutate(s) {
      swarmWorker(s).environment.ZJOB_QUEUE = "wc=shell:wc -w";
    },
  },
  {
    name: "a bridge network",
    expect: "networks:",
    mutate(s) {
      s.networks.zjob.driver = "bridge";
    },
  },
];

// Mutations of { compose, config }: the compose file as interpolated and,
// for those marked needsConfig, what docker-compose config printed.
const composeBroker = (c) => c.compose.services.broker;
const composeWorker = (c) => c.compose.services.worker;

const COMPOSE = [
  {
    name: "a misspelt stop_grace_periode",
    expect: "compose: conforms",
    mutate(c) {
      composeWorker(c).stop_grace_periode = composeWorker(c).stop_grace_period;
      delete composeWorker(c).stop_grace_period;
    },
  },
  {
    name: "depends_on condition service_happy",
    expect: "compose: conforms",
    mutate(c) {
      composeWorker(c).depends_on.broker.condition = "service_happy";
    },
  },
  {
    name: "ports as a number",
    expect: "compose: conforms",
    mutate(c) {
      composeBroker(c).ports = 5570;
    },
  },
  {
    name: "a misspelt healthcheck start_periods",
    expect: "compose: conforms",
    mutate(c) {
      composeBroker(c).healthcheck.start_periods = "60s";
    },
  },
  {
    name: "an unknown top-level key",
    expect: "compose: conforms",
    mutate(c) {
      c.compose.service = {};
    },
  },
  {
    name: "a default that docker-compose config does not print",
    expect: "compose: docker-compose config agrees",
    needsConfig: true,
    mutate(c) {
      composeWorker(c).environment.ZJOB_GRACE = "25s";
    },
  },
];

module.exports = { K8S, SWARM, COMPOSE };
