#!/usr/bin/env node
// Validates zjob's Kubernetes manifests, Swarm stack and compose file; run
// by tests/deploy/test_manifests.sh from a folder holding node_modules.
//   node check.js --broker-config deploy/broker.yaml --dockerfile deploy/Dockerfile
//     [--k8s FILE]... [--kustomize-dir deploy/k8s] [--swarm FILE]
//     [--compose deploy/docker-compose.yml [--compose-config FILE]] [--self-test]
// (--broker-config and --dockerfile are needed with --k8s or --swarm;
// --compose-config is what `docker-compose config` printed for the file.)
// Prints one line per check and, last, "checks: N passed, N failed"; exits 1
// when a check failed.
"use strict";

const path = require("path");
const common = require("./common");
const k8s = require("./k8s");
const swarm = require("./swarm");
const compose = require("./compose");
const mutations = require("./mutations");

function argsParse(argv) {
  const args = { k8s: [], selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === "--broker-config") args.brokerConfig = value();
    else if (flag === "--dockerfile") args.dockerfile = value();
    else if (flag === "--k8s") args.k8s.push(value());
    else if (flag === "--kustomize-dir") args.kustomizeDir = value();
    else if (flag === "--swarm") args.swarm = value();
    else if (flag === "--compose") args.compose = value();
    else if (flag === "--compose-config") args.composeConfig = value();
    else if (flag === "--self-test") args.selfTest = true;
    else throw new Error(`unknown argument ${flag}`);
  }
  if ((args.k8s.length > 0 || args.swarm) && (!args.brokerConfig || !args.dockerfile)) {
    throw new Error("--k8s and --swarm need --broker-config and --dockerfile");
  }
  if (args.composeConfig && !args.compose) {
    throw new Error("--compose-config needs --compose");
  }
  return args;
}

function k8sChecks(objects, workDir, withStrict) {
  return [
    ...k8s.schemaChecks(objects),
    ...(withStrict ? k8s.strictChecks(objects, workDir) : []),
    ...k8s.SEMANTIC_CHECKS,
  ];
}

// Applies each mutation to a copy of the good input and expects a failure
// from the check it names; returns { passed, failed }.
function selfTest(label, list, input, checksFor, ctxFor) {
  const totals = { passed: 0, failed: 0 };
  for (const mutation of list) {
    const copy = JSON.parse(JSON.stringify(input));
    mutation.mutate(copy);
    const result = common.checksRun(label, checksFor(copy, mutation), ctxFor(copy), false);
    const hit = result.failures.find((f) => f.name.startsWith(mutation.expect));
    if (hit) {
      totals.passed++;
      console.log(`${label}: ok   rejects ${mutation.name}: ${hit.problem}`);
    } else {
      totals.failed++;
      const other = result.failures.map((f) => f.name).join("; ") || "no check failed";
      console.log(
        `${label}: FAIL accepted ${mutation.name} (expected '${mutation.expect}' to fail; ${other})`,
      );
    }
  }
  return totals;
}

function add(totals, result) {
  totals.passed += result.passed;
  totals.failed += result.failed;
}

// The compose file, interpolated with no variable set (the defaults), and
// with --self-test its mutations; returns { passed, failed }.
function composeRun(args) {
  const totals = { passed: 0, failed: 0 };
  const input = {
    compose: compose.interpolate(common.yamlLoadAll(args.compose)[0] || {}, {}),
    config: args.composeConfig ? common.yamlLoadAll(args.composeConfig)[0] || {} : null,
  };
  console.log(`compose: ${path.basename(args.compose)} against ${compose.validatorGet().about}`);
  add(totals, common.checksRun("compose", compose.checksFor(input), input));
  if (args.selfTest) {
    const list = mutations.COMPOSE.filter((m) => input.config || !m.needsConfig);
    add(totals, selfTest("compose self-test", list, input, compose.checksFor, (copy) => copy));
  }
  return totals;
}

function main() {
  const args = argsParse(process.argv.slice(2));
  const workDir = process.cwd();
  const facts = args.brokerConfig ? common.imageFacts(args.brokerConfig, args.dockerfile) : null;
  const totals = { passed: 0, failed: 0 };

  if (args.kustomizeDir) {
    add(totals, common.checksRun("k8s", k8s.kustomizationChecks(args.kustomizeDir), {}));
  }
  if (args.k8s.length > 0) {
    const objects = args.k8s.flatMap((file) => common.yamlLoadAll(file));
    console.log(
      `k8s: ${objects.length} objects from ${args.k8s.map((f) => path.basename(f)).join(", ")}`,
    );
    add(totals, common.checksRun("k8s", k8sChecks(objects, workDir, true), { objects, facts }));
    if (args.selfTest) {
      add(
        totals,
        selfTest(
          "k8s self-test",
          mutations.K8S,
          objects,
          (copy, m) => k8sChecks(copy, workDir, m.expect.startsWith("fields")),
          (copy) => ({ objects: copy, facts }),
        ),
      );
    }
  }
  if (args.swarm) {
    const stack = common.yamlLoadAll(args.swarm)[0] || {};
    add(totals, common.checksRun("swarm", swarm.CHECKS, { stack, facts }));
    if (args.selfTest) {
      add(
        totals,
        selfTest(
          "swarm self-test",
          mutations.SWARM,
          stack,
          () => swarm.CHECKS,
          (copy) => ({ stack: copy, facts }),
        ),
      );
    }
  }
  if (args.compose) add(totals, composeRun(args));
  console.log(`checks: ${totals.passed} passed, ${totals.failed} failed`);
  return totals.failed === 0 && totals.passed > 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`check.js: ${err.message}`);
  process.exitCode = 2;
}
