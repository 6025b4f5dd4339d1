// Helpers the Kubernetes and Swarm checks share: YAML loading, zjob's own
// setting syntax (durations, endpoints, queue lists) and the check runner.
"use strict";

const fs = require("fs");
const YAML = require("yaml");

// Parses every document of a YAML file; duplicate keys and syntax errors
// throw with the file name. Empty documents are dropped.
function yamlLoadAll(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: ${doc.errors[0].message}`);
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) {
      objects.push(value);
    }
  }
  return objects;
}

// A zjob duration ("20s", "1m30s", "500ms", a bare number of seconds) in
// seconds, or null when zjob would refuse it.
function zjobSeconds(text) {
  const value = String(text).trim();
  if (/^\d+$/.test(value)) {
    return Number(value);
  }
  const units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  const part = /(\d+)(ms|s|m|h|d)/y;
  let total = 0;
  let match;
  while (part.lastIndex < value.length && (match = part.exec(value))) {
    total += Number(match[1]) * units[match[2]];
  }
  return part.lastIndex === value.length && value !== "" ? total : null;
}

// A Go duration as docker prints it ("30s", "1m0s", "1.5s") in seconds, or
// null when it is not one.
function goSeconds(text) {
  const value = String(text).trim();
  const units = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let match;
  while (part.lastIndex < value.length && (match = part.exec(value))) {
    total += Number(match[1]) * units[match[2]];
  }
  return part.lastIndex === value.length && value !== "" ? total : null;
}

// Splits "tcp://host:port" into { host, port }, or null.
function endpointParse(text) {
  const match = /^tcp:\/\/([^:/\s]+):(\d+)$/.exec(String(text || ""));
  return match ? { host: match[1], port: Number(match[2]) } : null;
}

// The port at the end of a bind address ("tcp://*:5570", "0.0.0.0:5580").
function bindPort(text) {
  const match = /:(\d+)\s*$/.exec(String(text || "").split(",")[0]);
  return match ? Number(match[1]) : null;
}

const BUILTINS = ["echo", "sha256", "sleep", "fail"];

// Problems with a ZJOB_QUEUE value: ';'-separated NAME[=HANDLER], where a
// HANDLER is builtin:NAME, exec:COMMAND or plugin:PATH and a bare NAME must
// be a builtin.
function queueProblems(text) {
  if (text === undefined || String(text).trim() === "") {
    return ["ZJOB_QUEUE is not set: the worker would serve no queue"];
  }
  const problems = [];
  for (const entry of String(text).split(";")) {
    const eq = entry.indexOf("=");
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const handler = eq < 0 ? "" : entry.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      problems.push(`ZJOB_QUEUE entry '${entry}' has no valid queue name`);
    } else if (eq < 0 && !BUILTINS.includes(name)) {
      problems.push(`ZJOB_QUEUE '${name}' is no builtin and has no handler`);
    } else if (eq >= 0 && !/^(builtin:\S+|exec:\s*\S.*|plugin:\S+)$/.test(handler)) {
      problems.push(`ZJOB_QUEUE '${entry}': handler is not builtin:, exec: or plugin:`);
    } else if (handler.startsWith("builtin:") && !BUILTINS.includes(handler.slice(8))) {
      problems.push(`ZJOB_QUEUE '${entry}': no such builtin`);
    }
  }
  return problems;
}

// What the image promises, read from deploy/: the broker's ports and journal
// (its example config, with ZJOB_<KEY> overrides applied by the caller) and
// the uid/gid of its user.
function imageFacts(brokerConfigFile, dockerfile) {
  const config = yamlLoadAll(brokerConfigFile)[0] || {};
  const text = fs.readFileSync(dockerfile, "utf8");
  const uid = /--uid\s+(\d+)/.exec(text);
  const gid = /--gid\s+(\d+)/.exec(text);
  const user = /^USER\s+(\S+)/m.exec(text);
  return {
    config,
    uid: uid ? Number(uid[1]) : null,
    gid: gid ? Number(gid[1]) : null,
    user: user ? user[1] : null,
  };
}

// The broker's settings as one container sees them: the config file's keys
// overridden by its ZJOB_<KEY> environment.
function brokerSettings(facts, env) {
  const key = (name) => env[`ZJOB_${name.toUpperCase().replace(/-/g, "_")}`];
  const value = (name) => (key(name) !== undefined ? key(name) : facts.config[name]);
  return {
    clientPort: bindPort(value("clients")),
    workerPort: bindPort(value("workers")),
    httpPort: bindPort(value("http")),
    journal: value("journal"),
  };
}

// The mount whose path holds `file` most closely, from [{ path, ... }].
function deepestMount(mounts, file) {
  let best = null;
  for (const mount of mounts) {
    const dir = mount.path.replace(/\/+$/, "");
    if (file === dir || file.startsWith(dir + "/")) {
      if (!best || dir.length > best.path.replace(/\/+$/, "").length) {
        best = mount;
      }
    }
  }
  return best;
}

// Runs checks ({ name, run(ctx) → [problem] }) and prints one line each;
// returns { passed, failed, failures: [{ name, problem }] }.
function checksRun(label, checks, ctx, print = true) {
  const result = { passed: 0, failed: 0, failures: [] };
  for (const check of checks) {
    let problems;
    try {
      problems = check.run(ctx);
    } catch (err) {
      problems = [`the check itself failed: ${err.stack || err}`];
    }
    if (problems.length === 0) {
      result.passed++;
      if (print) console.log(`${label}: ok   ${check.name}`);
      continue;
    }
    result.failed++;
    for (const problem of problems) {
      result.failures.push({ name: check.name, problem });
      if (print) console.log(`${label}: FAIL ${check.name}: ${problem}`);
    }
  }
  return result;
}

module.exports = {
  yamlLoadAll,
  zjobSeconds,
  goSeconds,
  endpointParse,
  bindPort,
  queueProblems,
  imageFacts,
  brokerSettings,
  deepestMount,
  checksRun,
};
