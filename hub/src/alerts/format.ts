// What a webhook receives, per kind (pure): `json` the notification as plain JSON, `slack` {text},
// `telegram` {chat_id, text} POSTed to {url}/sendMessage. And the one form of a webhook URL that may be
// logged: its origin (the path and query of Slack and Telegram URLs are the secret).
import type { WebhookConfig } from './config.js';
import type { Notification } from './planner.js';

/** A test message (`sosna console alerts test`) has status `test`. */
export type Outgoing = Omit<Notification, 'status'> & { status: Notification['status'] | 'test' };

/** The URL as logs may show it: scheme, host and port; the rest elided. Pure. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(unparseable URL)';
  }
}

/** Removes the webhook's URL (and its path, where the secret usually is) from a text, e.g. an error. Pure. */
export function scrub(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  try {
    const path = new URL(url).pathname;
    if (path.length > 1) out = out.split(path).join('/…');
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** Telegram takes up to 4096 characters of text; Slack truncates long ones: the list stops before that. */
const MAX_TEXT = 3900;

/** The one-line-per-device text of Slack and Telegram messages, at most MAX_TEXT characters. Pure. */
export function messageText(n: Outgoing, hubId: string): string {
  if (n.status === 'test') return `[TEST] sosna hub ${hubId}: test message from sosna console alerts test`;
  const head = `[${n.status.toUpperCase()}] ${n.rule} (${n.metric}) on hub ${hubId}: ${n.alerts.length} ${n.alerts.length === 1 ? 'subject' : 'subjects'}`;
  const lines = [head];
  let length = head.length;
  for (const [i, a] of n.alerts.entries()) {
    const who = a.name !== a.subject ? `${a.name} (${a.subject})` : a.subject;
    const when = n.status === 'firing' ? `since ${iso(a.startsAt)}` : `from ${iso(a.startsAt)} to ${iso(a.endsAt)}`;
    const line = `- ${who}${a.value !== null ? `: ${a.value}` : ''}, ${when}`;
    if (length + line.length + 40 > MAX_TEXT) {
      lines.push(`- and ${n.alerts.length - i} more`);
      break;
    }
    lines.push(line);
    length += line.length + 1;
  }
  return lines.join('\n');
}

/** The request a webhook gets for a notification: where to POST and the JSON body. Pure. */
export function renderRequest(w: WebhookConfig, n: Outgoing, hubId: string): { url: string; body: unknown } {
  if (w.kind === 'slack') return { url: w.url, body: { text: messageText(n, hubId) } };
  if (w.kind === 'telegram') {
    const url = /\/sendMessage\/?$/.test(w.url) ? w.url : `${w.url.replace(/\/+$/, '')}/sendMessage`;
    return { url, body: { chat_id: w.chatId, text: messageText(n, hubId) } };
  }
  const starts = n.alerts.map((a) => a.startsAt);
  const ends = n.alerts.map((a) => a.endsAt).filter((e): e is number => e !== null);
  return {
    url: w.url,
    body: {
      status: n.status,
      hub: hubId,
      rule: n.rule,
      metric: n.metric,
      startsAt: starts.length ? iso(Math.min(...starts)) : null,
      endsAt: n.status === 'resolved' && ends.length ? iso(Math.max(...ends)) : null,
      devices: n.alerts.map((a) => ({ id: a.subject, name: a.name, value: a.value, startsAt: iso(a.startsAt), endsAt: iso(a.endsAt), alertId: a.id })),
    },
  };
}
