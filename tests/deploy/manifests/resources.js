// Prints the files a kustomization.yaml lists under resources, as one
// multi-document YAML stream: the manifests as written, for machines
// without kubectl.   node resources.js deploy/k8s
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const dir = process.argv[2];
const kustomization = YAML.parse(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
for (const file of kustomization.resources || []) {
  process.stdout.write("---\n" + fs.readFileSync(path.join(dir, file), "utf8"));
}
