#!/usr/bin/env node
// Validates zjob's Kubernetes manifests and Swarm stack; run by
// tests/deploy/test_manifests.sh from a folder holding node_modules.
//   node check.js --broker-config deploy/broker.yaml --dockerfile deploy/Dockerfile
//     [--k8s FILE]... [--kustomize-dir deploy/k8s] [--swarm FILE] [--self-test]
// Prints one line per check and, last, "checks: N passed, N failed"; exits 1
// when a check failed.
"use strict";

const path = require("path");
const common = require("./common");
const k8s = require("./k8s");
const swarm = require("./swarm");
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
    else if (flag === "--self-test") args.selfTest = true;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!args.brokerConfig || !args.dockerfile) {
    throw new Error("--broker-config and --dockerfile are required");
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

function main() {
  const args = argsParse(process.argv.slice(2));
  const workDir = process.cwd();
  const facts = common.imageFacts(args.brokerConfig, args.dockerfile);
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
  console.log(`checks: ${totals.passed} passed, ${totals.failed} failed`);
  return totals.failed === 0 && totals.passed > 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`check.js: ${err.message}`);
  process.exitCode = 2;
}
