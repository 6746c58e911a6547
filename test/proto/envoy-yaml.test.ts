import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkEnvoyYaml, checkFile, parseEnvoyYaml } from '../../src/proto/strict/index.js';
import { fixture, LISTENER, paths, readFixture } from './helpers.js';

describe('Envoy YAML check', () => {
  it('passes a realistic bootstrap: admin on loopback, node id, ADS over HTTP/2 to the static tollgate cluster', () => {
    expect(checkEnvoyYaml(readFixture('bootstrap.yaml'))).toEqual([]);
    expect(checkFile(fixture('bootstrap.yaml'))).toEqual([]);
  });

  it('passes a listener whose HttpConnectionManager runs ext_authz, then ext_proc, then the router', () => {
    expect(checkFile(fixture('listener.yaml'), LISTENER)).toEqual([]);
  });

  it('fails a bootstrap with a typo deep inside a typed_config, naming the full path', () => {
    const text = readFixture('bootstrap.yaml').replace('http2_protocol_options: {}', 'http2_protocol_option: {}');
    const problems = checkEnvoyYaml(text);
    const at = 'static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config';
    expect(problems).toEqual([
      { path: `${at}.http2_protocol_option`, message: expect.stringContaining('did you mean "http2_protocol_options"?') },
      { path: at, message: expect.stringContaining('one of http_protocol_options, http2_protocol_options, http3_protocol_options must be set') },
    ]);
  });

  it('reads booleans the way Envoy’s yaml-cpp does (yes/on/off), and quoted values as strings', () => {
    expect(parseEnvoyYaml('a: yes\nb: "yes"\nc: Off\nd: 0.25s\ne: 9901').value).toEqual({ a: true, b: 'yes', c: false, d: '0.25s', e: 9901 });
    const text = readFixture('bootstrap.yaml').replace('set_node_on_first_message_only: true', 'set_node_on_first_message_only: on');
    expect(checkEnvoyYaml(text)).toEqual([]);
  });

  it('reports YAML syntax errors as problems', () => {
    const problems = checkEnvoyYaml('admin: {address: [}');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.message).toMatch(/^YAML: /);
  });

  it('checks JSON files as JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-strict-'));
    const file = join(dir, 'cluster.json');
    writeFileSync(file, JSON.stringify({ name: 'c', connect_timeout: '1s', lb_polcy: 'ROUND_ROBIN' }));
    expect(paths(checkFile(file, 'envoy.config.cluster.v3.Cluster'))).toEqual(['lb_polcy']);
  });
});
