/**
 * `acx-data.env.example`: the environment file the schedule reads its credentials from (systemd's
 * `EnvironmentFile=`, the crontab's `. FILE`). Names and comments only: never a value.
 */
import type { ScheduleInstall } from './schedule-jobs.ts';

/** [variable, comment]; a variable written `#NAME=` is optional (an empty value would count as set). */
const SECTIONS: Array<[string, Array<[string, string]>]> = [
  [
    'Databases (required)',
    [
      ['DATABASE_URL', 'postgresql://user:password@host:5432/autocognitix'],
      ['NEO4J_URI', 'bolt://host:7687'],
      ['NEO4J_USER', ''],
      ['NEO4J_PASSWORD', ''],
      ['QDRANT_URL', 'http://host:6333'],
    ],
  ],
  [
    'Databases (optional)',
    [
      ['#NEO4J_DATABASE', 'Neo4j Community holds one user database, neo4j'],
      ['#QDRANT_API_KEY', ''],
    ],
  ],
  [
    'An encrypted repository (backup --encrypt): prefer a file readable by this user only',
    [
      ['#ACX_REPOSITORY_PASSWORD_FILE', ''],
      ['#ACX_REPOSITORY_KEY_FILE', 'from acx-data key generate FILE'],
      ['#ACX_REPOSITORY_PASSWORD', ''],
    ],
  ],
  [
    'Cloud uploads (--upload-s3 / --upload-gcs / --upload-azure)',
    [
      ['#AWS_ACCESS_KEY_ID', ''],
      ['#AWS_SECRET_ACCESS_KEY', ''],
      ['#AWS_DEFAULT_REGION', ''],
      ['#GOOGLE_APPLICATION_CREDENTIALS', 'path of a service-account JSON file'],
      ['#AZURE_STORAGE_CONNECTION_STRING', ''],
    ],
  ],
  [
    'Embeddings for sync (PostgreSQL → Qdrant)',
    [
      ['#EMBEDDING_PROVIDER', 'local or http'],
      ['#EMBEDDING_MODEL_DIR', 'with local: the huBERT ONNX export'],
      ['#EMBEDDING_URL', 'with http: the embedding server'],
    ],
  ],
  [
    'The monthly restore drill (docs/design.md §13.7): an empty Neo4j that only drills write into',
    [
      ['#ACX_DRILL_NEO4J_URI', 'bolt://drill-host:7687'],
      ['#ACX_DRILL_NEO4J_USER', 'else NEO4J_USER'],
      ['#ACX_DRILL_NEO4J_PASSWORD', 'else NEO4J_PASSWORD'],
    ],
  ],
  [
    'Alerts after a failed run (docs/design.md §13.1)',
    [
      ['#ACX_ALERT_WEBHOOK', 'generic JSON alert'],
      ['#ACX_ALERT_SLACK', 'Slack incoming-webhook URL (it holds a secret)'],
      ['#ACX_ALERT_EMAIL', 'comma-separated addresses'],
      ['#ACX_SMTP_URL', 'smtp://user:password@host:587'],
      ['#ACX_ALERT_FROM', ''],
      ['#ACX_ALERT_ON', 'failure (default) or always'],
      ['#ACX_PUSHGATEWAY_URL', 'also push the metrics to a Prometheus Pushgateway'],
    ],
  ],
];

/** The example environment file for `install`. */
export function formatEnvExample(install: ScheduleInstall): string {
  const group = install.group ?? install.user;
  const lines = [
    '# acx-data: credentials of the scheduled jobs (docs/operations.md, "Schedules").',
    `# Install as ${install.envFile}, owned by root, group ${group}, mode 0640:`,
    `#   install -m 0640 -o root -g ${group} acx-data.env.example ${install.envFile}`,
    '# Read by systemd (EnvironmentFile=) and by sh (the crontab): one NAME=value per line, no spaces',
    "# around '='; put a value holding spaces or any of $ ` \\ \" ' ; & | < > in single quotes.",
    '# A line left "#NAME=" is unset. Never put a credential in the crontab or a unit file.',
  ];
  for (const [title, variables] of SECTIONS) {
    lines.push('', `# ${title}`);
    for (const [name, comment] of variables) {
      if (comment !== '') lines.push(`# ${comment}`);
      lines.push(`${name}=`);
    }
  }
  return lines.join('\n') + '\n';
}
