// docker/k8s checked offline: every manifest, and the two variants as an operator applies them
// (`kubectl apply -f docker/k8s/common -f docker/k8s/deployment`, or .../daemonset):
// - every object validates against the Kubernetes API schemas (kubernetes-models, Kubernetes
//   1.27; PodMonitor from @kubernetes-models/prometheus-operator);
// - no object has a field the API does not know (those schemas let unknown fields through, the
//   API server's strict field validation does not): the objects are type-checked by tsc against
//   the same models' interfaces, whose excess-property check names every misspelt key;
// - the pieces agree: probes on /healthz, grace period above preStop + shutdown_timeout,
//   Services and the PodMonitor select the pods and name their ports, the image's user;
// - the ConfigMap's switchyard.yaml passes `switchyard --check-config`.
// Run by ctest as "k8s: manifests" (node --test), after `.ci/install-deps` installed node_modules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const k8s = path.join(root, "docker/k8s");
if (!fs.existsSync(path.join(here, "node_modules/kubernetes-models"))) {
  throw new Error(`${here}/node_modules is missing: run bash .ci/install-deps`);
}
const require = createRequire(path.join(here, "package.json"));
const { parseAllDocuments, parse } = require("yaml");

// apiVersion/kind -> the model module (a class of that kind; its interface is I<kind>).
const MODELS = {
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "apps/v1/DaemonSet": "kubernetes-models/apps/v1/DaemonSet",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "monitoring.coreos.com/v1/PodMonitor": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
};

// The objects of every .yaml file in these directories of docker/k8s.
function load(...dirs) {
  const objects = [];
  for (const dir of dirs) {
    for (const name of fs.readdirSync(path.join(k8s, dir)).filter((n) => n.endsWith(".yaml")).sort()) {
      for (const doc of parseAllDocuments(fs.readFileSync(path.join(k8s, dir, name), "utf8"))) {
        assert.deepEqual(doc.errors, [], `${dir}/${name}`);
        objects.push(doc.toJS());
      }
    }
  }
  return objects;
}

const manifestDirs = fs.readdirSync(k8s).filter((d) => fs.statSync(path.join(k8s, d)).isDirectory());
const variants = { deployment: load("common", "deployment"), daemonset: load("common", "daemonset") };
const everything = load(...manifestDirs);
const podMonitor = everything.find((o) => o.kind === "PodMonitor");
const find = (objects, kind, name) => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));

function model(object) {
  const module = MODELS[`${object.apiVersion}/${object.kind}`];
  assert.ok(module, `no model for ${object.apiVersion} ${object.kind}: add it to MODELS`);
  return { module, Class: require(module)[object.kind] };
}

function schemaErrors(object) {
  const { Class } = model(object);
  try {
    new Class(object).validate();
    return null;
  } catch (e) {
    return e.message;
  }
}

// tsc --noEmit over `const x: I<Kind> = <object>` for each object: the output lists unknown keys.
function typeErrors(objects) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swy-k8s-tsc-"));
  try {
    const lines = objects.map((o, i) => {
      const { module } = model(o);
      return `import type { I${o.kind} as T${i} } from "${module}";\nexport const o${i}: T${i} = ${JSON.stringify(o, null, 1)};`;
    });
    fs.writeFileSync(path.join(dir, "manifests.ts"), lines.join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, skipLibCheck: true, module: "commonjs", moduleResolution: "node",
        target: "es2020", baseUrl: path.join(here, "node_modules"), paths: { "*": ["*"] },
        typeRoots: [], types: [],
      },
      files: ["manifests.ts"],
    }));
    const r = spawnSync(process.execPath, [path.join(here, "node_modules/typescript/bin/tsc"), "-p", dir],
                        { encoding: "utf8" });
    return (r.stdout + r.stderr).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const clone = (o) => JSON.parse(JSON.stringify(o));
const podSpec = (workload) => workload.spec.template.spec;
const container = (workload) => podSpec(workload).containers.find((c) => c.name === "switchyard");
const seconds = (duration) => {
  const m = /^(\d+)s$/.exec(duration);
  assert.ok(m, `expected a duration in whole seconds, got ${duration}`);
  return Number(m[1]);
};

test("every object validates against the Kubernetes API schemas", () => {
  assert.deepEqual(manifestDirs.sort(), ["common", "daemonset", "deployment", "monitoring"]);
  assert.equal(everything.length, 7);
  assert.deepEqual(variants.deployment.map((o) => o.kind).sort(),
                   ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "Service"]);
  assert.deepEqual(variants.daemonset.map((o) => o.kind).sort(), ["ConfigMap", "DaemonSet", "Service", "Service"]);
  for (const o of everything) assert.equal(schemaErrors(o), null, `${o.kind} ${o.metadata.name}`);
});

test("the schema check fails on a wrong type or a missing required field", () => {
  const deployment = clone(find(variants.deployment, "Deployment"));
  deployment.spec.replicas = "three";
  assert.match(schemaErrors(deployment), /replicas must be integer/);
  const service = clone(find(variants.deployment, "Service", "switchyard"));
  delete service.spec.ports[0].port;
  assert.match(schemaErrors(service), /port/);
});

test("no object has a field the API does not know", () => {
  assert.equal(typeErrors(everything), "");
});

test("the unknown-field check names a misspelt key", () => {
  const deployment = clone(find(variants.deployment, "Deployment"));
  const c = container(deployment);
  c.readinesProbe = c.readinessProbe;
  delete c.readinessProbe;
  assert.equal(schemaErrors(deployment), null, "the schemas alone let it through");
  assert.match(typeErrors([deployment]), /'"?readinesProbe"?' does not exist in type 'IContainer'/);
});

test("config: the ConfigMap holds a switchyard.yaml that passes --check-config", () => {
  const bin = process.env.SWITCHYARD_BIN;
  assert.ok(bin, "SWITCHYARD_BIN (set by ctest) names the daemon to check the config with");
  const configMap = find(variants.deployment, "ConfigMap", "switchyard-config");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swy-k8s-config-"));
  try {
    const file = path.join(dir, "switchyard.yaml");
    fs.writeFileSync(file, configMap.data["switchyard.yaml"]);
    const r = spawnSync(bin, ["--check-config", file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /configuration OK/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const [variant, objects] of Object.entries(variants)) {
  const workload = objects.find((o) => o.kind === "Deployment" || o.kind === "DaemonSet");
  const config = parse(find(objects, "ConfigMap", "switchyard-config").data["switchyard.yaml"]);

  test(`${variant}: probes, drain and shutdown fit together`, () => {
    const c = container(workload);
    const metricsPort = c.ports.find((p) => p.name === "metrics");
    assert.equal(config.metrics.listen, `0.0.0.0:${metricsPort.containerPort}`);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      assert.deepEqual(c[probe].httpGet, { path: "/healthz", port: "metrics" }, probe);
    }
    const preStop = c.lifecycle.preStop.exec.command;
    assert.equal(preStop[0], "/bin/sleep");
    const pause = Number(preStop[1]);
    assert.ok(pause > 0);
    // SIGKILL comes terminationGracePeriodSeconds after deletion, preStop included.
    const grace = podSpec(workload).terminationGracePeriodSeconds;
    assert.ok(grace > pause + seconds(config.shutdown_timeout),
              `grace ${grace} s <= preStop ${pause} s + shutdown_timeout ${config.shutdown_timeout}`);
    // A draining pod answers 503: liveness must not restart it before the drain is over.
    const liveness = c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold;
    assert.ok(liveness > grace, `liveness gives up after ${liveness} s, inside the ${grace} s grace period`);
    assert.equal(c.readinessProbe.failureThreshold, 1, "a draining pod leaves the endpoints at once");
  });

  test(`${variant}: Services, scraping and security agree with the pods`, () => {
    const labels = workload.spec.template.metadata.labels;
    assert.deepEqual(workload.spec.selector.matchLabels, labels);
    const c = container(workload);
    const protocols = new Set();
    for (const service of objects.filter((o) => o.kind === "Service")) {
      for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(labels[k], v, service.metadata.name);
      for (const port of service.spec.ports) {
        const target = c.ports.find((p) => p.name === port.targetPort);
        assert.ok(target, `${service.metadata.name}: no container port ${port.targetPort}`);
        assert.equal(target.protocol, port.protocol);
        protocols.add(port.protocol);
      }
    }
    assert.deepEqual([...protocols].sort(), ["TCP", "UDP"]);
    // Each container port but metrics is a listener of the config, of the same protocol.
    const listeners = config.listeners.map((l) =>
      `${(l.protocol ?? "tcp").toUpperCase()}/${Number(l.listen.split(":").pop())}`);
    for (const p of c.ports.filter((p) => p.name !== "metrics")) {
      assert.ok(listeners.includes(`${p.protocol}/${p.containerPort}`), `${p.name} is not a listener`);
    }
    const annotations = workload.spec.template.metadata.annotations;
    assert.equal(annotations["prometheus.io/scrape"], "true");
    assert.equal(Number(annotations["prometheus.io/port"]), c.ports.find((p) => p.name === "metrics").containerPort);
    assert.equal(annotations["prometheus.io/path"], config.metrics.path ?? "/metrics");
    for (const [k, v] of Object.entries(podMonitor.spec.selector.matchLabels)) assert.equal(labels[k], v);
    assert.equal(podMonitor.spec.podMetricsEndpoints[0].port, "metrics");
    // The image's user (docker/Dockerfile: USER 10001:10001), never root.
    const sc = podSpec(workload).securityContext;
    const dockerfile = fs.readFileSync(path.join(root, "docker/Dockerfile"), "utf8");
    assert.match(dockerfile, new RegExp(`^USER ${sc.runAsUser}:${sc.runAsGroup}$`, "m"));
    assert.equal(sc.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    // The config is mounted as a directory (a subPath mount never sees ConfigMap updates), and
    // the daemon reloads it when kubelet updates it.
    const mount = c.volumeMounts.find((m) => m.mountPath === "/etc/switchyard");
    assert.ok(mount && !mount.subPath);
    const volume = podSpec(workload).volumes.find((v) => v.name === mount.name);
    assert.equal(volume.configMap.name, "switchyard-config");
    assert.equal(config.watch_config, true);
    // A writable /tmp under the read-only root: where a replaced plugin's new build is copied.
    const tmp = c.volumeMounts.find((m) => m.mountPath === "/tmp");
    assert.ok(tmp && !tmp.readOnly);
    assert.ok(podSpec(workload).volumes.find((v) => v.name === tmp.name).emptyDir);
    assert.deepEqual(c.args, ["--config", "/etc/switchyard/switchyard.yaml"]);
  });
}

test("the DaemonSet's pod is the Deployment's but for host ports and spreading", () => {
  const fromDeployment = clone(find(variants.deployment, "Deployment").spec.template);
  const fromDaemonSet = clone(find(variants.daemonset, "DaemonSet").spec.template);
  delete fromDeployment.spec.topologySpreadConstraints;
  for (const p of container({ spec: { template: fromDaemonSet } }).ports) {
    if (p.name !== "metrics") assert.equal(p.hostPort, p.containerPort, p.name);
    delete p.hostPort;
  }
  assert.deepEqual(fromDaemonSet, fromDeployment);
});

test("the PodDisruptionBudget covers the Deployment's pods", () => {
  const pdb = find(variants.deployment, "PodDisruptionBudget");
  const deployment = find(variants.deployment, "Deployment");
  assert.deepEqual(pdb.spec.selector, deployment.spec.selector);
  assert.ok(pdb.spec.maxUnavailable >= 1 && pdb.spec.maxUnavailable < deployment.spec.replicas);
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
});
