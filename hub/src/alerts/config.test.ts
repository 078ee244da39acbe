import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '@sosna/protocol';
import { HubConfig } from '../config.js';
import { parseDuration } from './config.js';
import { messageText, redactUrl, renderRequest, scrub } from './format.js';
import { WebhookConfig } from './config.js';

const parse = (alerts: Record<string, unknown>, what = 'hub config') => () => parseOrThrow(HubConfig, { alerts }, what);

describe('alerts config', () => {
  it('defaults and durations', () => {
    const { alerts } = HubConfig.parse({});
    expect(alerts).toEqual({ rules: [], webhooks: [], evalInterval: 5000, groupWindow: 30_000 });
    const a = HubConfig.parse({ alerts: { groupWindow: '2s', rules: [{ name: 'off', metric: 'device.offline', for: '1.5s' }], webhooks: [{ name: 'ops', url: 'https://hooks.example/T1/secret' }] } }).alerts;
    expect(a.groupWindow).toBe(2000);
    expect(a.rules[0]).toMatchObject({ for: 1500, window: 3_600_000, minJobs: 5 });
    expect(a.webhooks[0]).toMatchObject({ kind: 'json', maxAttempts: 8, backoff: 1000, maxBackoff: 300_000, timeout: 10_000 });
    expect([parseDuration('500ms'), parseDuration('5m'), parseDuration('1h'), parseDuration('5'), parseDuration('m')]).toEqual([500, 300_000, 3_600_000, null, null]);
  });

  it('an unknown metric is refused naming the file, the field, the value and the metrics there are', () => {
    expect(parse({ rules: [{ name: 'x', metric: 'gpu.temperature', above: 80 }] }, 'hub config /etc/sosna/hub.json')).toThrow(
      'hub config /etc/sosna/hub.json: alerts.rules.0.metric: unknown metric "gpu.temperature": use one of device.offline, cpu.tempC, gpu.tempC, gpu.lost, hashrate, jobs.failureRate, wallet.shortfall',
    );
  });

  it('a malformed webhook URL is refused naming the field, without echoing the URL', () => {
    let message = '';
    try {
      parse({ webhooks: [{ name: 'ops', kind: 'slack', url: 'hooks.slack.com/services/T0/B0/SECRETTOKEN' }] })();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('hub config: alerts.webhooks.0.url: must be an http:// or https:// URL');
    expect(message).not.toContain('SECRETTOKEN');
    expect(parse({ webhooks: [{ name: 'ops', url: 'ftp://x/y' }] })).toThrow('alerts.webhooks.0.url: must be an http:// or https:// URL');
  });

  it('other mistakes: thresholds per metric, durations, telegram chat id, unknown webhook names, duplicates', () => {
    expect(parse({ rules: [{ name: 'x', metric: 'cpu.tempC' }] })).toThrow('alerts.rules.0.above: cpu.tempC needs "above" (the threshold)');
    expect(parse({ rules: [{ name: 'x', metric: 'hashrate', above: 1 }] })).toThrow('alerts.rules.0.above: hashrate takes "below", not "above"');
    expect(parse({ rules: [{ name: 'x', metric: 'device.offline', below: 1 }] })).toThrow('alerts.rules.0.below: device.offline takes no threshold');
    expect(parse({ rules: [{ name: 'x', metric: 'device.offline', for: '5 minutes' }] })).toThrow('alerts.rules.0.for: must be a duration such as 500ms, 30s, 5m, 1h or 1d');
    expect(parse({ rules: [{ name: 'x', metric: 'wallet.shortfall', fleet: 'a' }] })).toThrow("alerts.rules.0.fleet: wallet.shortfall is the hub's own figure");
    expect(parse({ webhooks: [{ name: 'tg', kind: 'telegram', url: 'https://api.telegram.org/botX' }] })).toThrow('alerts.webhooks.0.chatId: a telegram webhook needs chatId');
    expect(parse({ webhooks: [{ name: 'a', kind: 'teams', url: 'https://x/' }] })).toThrow('alerts.webhooks.0.kind: must be json, slack or telegram');
    expect(parse({ rules: [{ name: 'x', metric: 'device.offline', webhooks: ['nope'] }], webhooks: [{ name: 'ops', url: 'https://x/' }] })).toThrow(
      'alerts.rules.0.webhooks.0: no webhook named nope (configured: ops)',
    );
    expect(parse({ rules: [{ name: 'x', metric: 'device.offline' }, { name: 'x', metric: 'gpu.lost' }] })).toThrow('alerts.rules.1.name: rule x is named twice');
    expect(parse({ rules: [{ name: 'x', metric: 'device.offline', forr: '1s' }] })).toThrow('alerts.rules.0');
  });
});

describe('webhook messages', () => {
  const n = { status: 'firing' as const, rule: 'off', metric: 'device.offline', alerts: [{ id: 1, subject: 'rig-1-abc', name: 'rig-1', value: null, startsAt: 0, endsAt: null }] };
  it('json, slack and telegram bodies; telegram posts to sendMessage', () => {
    const w = (x: Record<string, unknown>) => WebhookConfig.parse({ name: 'w', url: 'https://h.example/path/TOKEN', ...x });
    expect(renderRequest(w({}), n, 'hub-1')).toEqual({
      url: 'https://h.example/path/TOKEN',
      body: { status: 'firing', hub: 'hub-1', rule: 'off', metric: 'device.offline', startsAt: '1970-01-01T00:00:00.000Z', endsAt: null, devices: [{ id: 'rig-1-abc', name: 'rig-1', value: null, startsAt: '1970-01-01T00:00:00.000Z', endsAt: null, alertId: 1 }] },
    });
    expect(renderRequest(w({ kind: 'slack' }), n, 'hub-1').body).toEqual({ text: messageText(n, 'hub-1') });
    expect(messageText(n, 'hub-1')).toBe('[FIRING] off (device.offline) on hub hub-1: 1 subject\n- rig-1 (rig-1-abc), since 1970-01-01T00:00:00.000Z');
    expect(renderRequest(w({ kind: 'telegram', url: 'https://api.telegram.org/bot123:ABC', chatId: -100 }), n, 'hub-1')).toEqual({
      url: 'https://api.telegram.org/bot123:ABC/sendMessage', body: { chat_id: -100, text: messageText(n, 'hub-1') },
    });
  });
  it('a long list stays within what Telegram takes (4096 characters), saying how many more', () => {
    const many = { ...n, alerts: Array.from({ length: 500 }, (_, i) => ({ ...n.alerts[0]!, id: i + 1, subject: `rig-${i}-abcdef`, name: `rig-${i}` })) };
    const text = messageText(many, 'hub-1');
    expect(text.length).toBeLessThanOrEqual(4096);
    const listed = text.split('\n').filter((l) => l.startsWith('- rig-')).length;
    expect(text).toContain(`- and ${500 - listed} more`);
    expect(listed).toBeGreaterThan(20);
  });
  it('logs show a URL by its origin only', () => {
    expect(redactUrl('https://api.telegram.org/bot123:ABC/sendMessage')).toBe('https://api.telegram.org/…');
    expect(scrub('request to https://h.example/path/TOKEN failed (/path/TOKEN)', 'https://h.example/path/TOKEN')).toBe('request to https://h.example/… failed (/…)');
  });
});
