/**
 * What counts as a Helm chart, for every policy: `helm.sh/v3` Releases and the `helm.sh/v3` and
 * `helm.sh/v4` Chart components alike (each install a chart from a version, a repository and
 * values), read from the resource's inputs.
 */
import type { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

const HELM_CHART_TYPE = /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/;

export function isHelmChart(type: string): boolean {
  return HELM_CHART_TYPE.test(type);
}

/** A chart installation as the policies read it. */
export interface HelmChartView {
  /** `Helm release "<name>"` or `Helm chart "<name>"`: how a finding names it. */
  readonly label: string;
  readonly chart: string;
  readonly version: string | undefined;
  readonly repository: string | undefined;
  readonly values: unknown;
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
    version: typeof props.version === "string" ? props.version : undefined,
    repository: repositoryOpts?.repo,
    values: props.values,
  };
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
