/**
 * What counts as a Helm chart, for every policy: `helm.sh/v3` Releases and the `helm.sh/v3` and
 * `helm.sh/v4` Chart components alike (each install a chart from a version, a repository and
 * values), read from the resource's inputs.
 */
import type { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

const HELM_CHART_TYPE = /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/;

/** The types {@link isHelmChart} accepts, as the catalog names them. */
export const HELM_CHART_TYPES =
  "helm.sh/v3 Release, helm.sh/v3 Chart and helm.sh/v4 Chart (any `kubernetes:helm.sh/v<N>:Release` or `:Chart`)";

/**
 * How far a rule reaches into Helm charts, for the catalog (each policy's `chartReach`), with the
 * line the catalog groups it under. A `helm.sh/v3` Release is rendered and installed inside the
 * provider: the pack sees its inputs (chart, version, repository, values), never its objects. A
 * `helm.sh/v3` or `helm.sh/v4` Chart registers each object it renders as a resource of its own.
 */
export const CHART_REACH = {
  /** The installation's own inputs, Release and Chart alike; not the objects a Chart renders. */
  inputs:
    "Checked inside a helm.sh/v3 Release on its inputs only (chart, version, repository, values); the same on v3 and v4 Charts",
  /** A Release's and a Chart's inputs, and each object a Chart renders. */
  "inputs-and-objects":
    "Checked inside a helm.sh/v3 Release on its inputs only; on a v3 or v4 Chart, on its inputs and on each object it renders",
  /** Each object a v3 or v4 Chart renders; nothing of a Release. */
  objects: "Not checked inside a helm.sh/v3 Release; checked on each object a v3 or v4 Chart renders",
  /** A Kubernetes rule that sees nothing of any chart. */
  none: "Not checked inside any Helm chart",
  /** Rules on cloud resources, which charts do not create. */
  "not-applicable": "Not applicable: the rule reads cloud resources, which Helm charts do not create",
} as const;

export type ChartReach = keyof typeof CHART_REACH;

/** What the pack can see inside Helm charts, for the catalog: the Release vs Chart distinction, said once. */
export function helmChartVisibility(): string {
  return [
    "A `helm.sh/v3` Release is rendered and installed by the Kubernetes provider itself: the pack sees the Release's inputs (chart, version, repository, values) but none of the objects it creates, so a rule that reads Kubernetes objects cannot check what a Release installs.",
    "A `helm.sh/v3` Chart (rendered in the Pulumi program) and a `helm.sh/v4` Chart (rendered by the provider as a component) register each object as a resource of its own: resource and stack policies see those objects as if they were declared directly, and the Helm rules read the Chart's inputs as they read a Release's.",
    'Each invariant\'s "Inside Helm charts" line says which of these holds for it.',
  ].join(" ");
}

/** A rule's `charts` line when it reads Kubernetes objects: a Release hides them, a Chart registers them. */
export function chartObjectsChecked(objects: string): string {
  return `helm.sh/v3 Release: not checked, since the provider renders its ${objects} and the pack sees only the Release's inputs. helm.sh/v3 and v4 Chart: the ${objects} it renders are resources of their own and are checked like any other.`;
}

/** A rule's `charts` line when it reads a chart installation's own inputs. */
export function chartInputsChecked(inputs: string): string {
  return `helm.sh/v3 Release and helm.sh/v3 and v4 Chart alike: this rule reads the installation's ${inputs}, not the objects the chart renders.`;
}

/** The `charts` line of every rule on cloud resources. */
export const CLOUD_RESOURCES_ONLY =
  "Not applicable: the rule reads cloud resources, which Helm charts do not create (cloud resources a chart declares as custom resources, e.g. through ACK or Crossplane, are not read).";

export function isHelmChart(type: string): boolean {
  return HELM_CHART_TYPE.test(type);
}

/** A chart installation as the policies read it. */
export interface HelmChartView {
  /** `Helm release "<name>"` or `Helm chart "<name>"`: how a finding names it. */
  readonly label: string;
  /** The `chart` input as written. */
  readonly chart: string;
  /** The chart's bare name, however `chart` spells it ({@link bareChartName}). */
  readonly name: string;
  readonly version: string | undefined;
  readonly repository: string | undefined;
  readonly values: unknown;
  /** Where its objects go: the `namespace` input, else the provider's namespace ("default" unless set). */
  readonly namespace: string;
}

export function helmChartOf(
  type: string,
  props: Record<string, unknown>,
  resourceName: string,
): HelmChartView {
  const kind = type.endsWith(":Release") ? "release" : "chart";
  const name = typeof props.name === "string" ? props.name : resourceName;
  // v3 Release and v4 Chart take repositoryOpts.repo; a v3 Chart takes fetchOpts.repo.
  const repositoryOpts = (props.repositoryOpts ?? props.fetchOpts) as { repo?: string } | undefined;
  return {
    label: `Helm ${kind} "${name}"`,
    chart: String(props.chart ?? ""),
    name: bareChartName(props.chart),
    version: typeof props.version === "string" ? props.version : undefined,
    repository: repositoryOpts?.repo,
    values: props.values,
    namespace: typeof props.namespace === "string" && props.namespace !== "" ? props.namespace : "default",
  };
}

/**
 * The chart an installation's `chart` input names, as a bare name: a repository alias
 * (prometheus-community/kube-prometheus-stack), an OCI reference, a local directory or a chart archive
 * (kube-prometheus-stack-75.15.1.tgz) all come down to their last path component, less an archive's
 * version.
 */
export function bareChartName(chart: unknown): string {
  const last = String(chart ?? "")
    .replace(/\/+$/, "")
    .split("/")
    .pop()!;
  if (!last.endsWith(".tgz")) return last;
  return last.slice(0, -".tgz".length).replace(/-v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/, "");
}

/** A resource validation over every Helm chart installation; other resources are not applicable. */
export function validateHelmCharts(
  check: (chart: HelmChartView, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
  return (args, report) => {
    if (!isHelmChart(args.type)) return args.notApplicable("Policy only applies to Helm charts");
    check(helmChartOf(args.type, args.props, args.name), args, report);
  };
}
