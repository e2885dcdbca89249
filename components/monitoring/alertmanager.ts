/**
 * Alertmanager routing for plinth: every alert to the configured Slack channel and/or email list.
 * The Slack webhook URL is a secret: it is mounted from a Kubernetes Secret (api_url_file), so it
 * never appears in the Helm values.
 */

export interface AlertReceivers {
  /** Slack channel, e.g. #ml-alerts; needs the webhook secret. */
  readonly slackChannel?: string;
  readonly emails?: readonly string[];
  /** SMTP relay host:port, required with emails. */
  readonly smtpSmarthost?: string;
  readonly smtpFrom?: string;
}

/** Name of the Secret holding the Slack webhook (key `url`), mounted into Alertmanager. */
export const SLACK_SECRET = "alertmanager-slack";
const SLACK_URL_FILE = `/etc/alertmanager/secrets/${SLACK_SECRET}/url`;

export function alertmanagerConfig(receivers: AlertReceivers): Record<string, unknown> {
  const plinth: Record<string, unknown> = { name: "plinth" };
  if (receivers.slackChannel) {
    plinth.slack_configs = [
      {
        api_url_file: SLACK_URL_FILE,
        channel: receivers.slackChannel,
        send_resolved: true,
        title: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
        text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.runbook_url }}\n{{ end }}",
      },
    ];
  }
  if (receivers.emails?.length) {
    plinth.email_configs = receivers.emails.map((to) => ({
      to,
      from: receivers.smtpFrom,
      smarthost: receivers.smtpSmarthost,
      require_tls: true,
      send_resolved: true,
    }));
  }
  return {
    route: {
      receiver: "plinth",
      group_by: ["alertname", "severity"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      // The chart's always-firing heartbeat and inhibition helper go nowhere.
      routes: [{ receiver: "null", matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] }],
    },
    receivers: [{ name: "null" }, plinth],
  };
}
