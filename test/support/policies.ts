/** The policy most end-to-end tests run against: every identity source, wildcards, ports, paths, report mode. */
export const HMAC_SECRET = 'test-hmac-secret-0123456789';

export const TEST_POLICY = `
version: 1
defaults: { mode: enforce }
identitySources: [mtls, xfcc, signed_header, source_cidr]
signedHeader:
  header: x-tollgate-identity
  hmac: { secret: { value: "${HMAC_SECRET}" } }
identities:
  - name: billing
    match: { spiffe: "spiffe://prod.example/ns/billing/sa/*" }
  - name: payments-exact
    match: { spiffe: "spiffe://prod.example/ns/payments/sa/api" }
  - name: mesh-client
    match: { xfcc: "spiffe://mesh.example/ns/web/*" }
  - name: ci
    match: { signedSubject: ci-runner }
  - name: legacy-batch
    mode: report
    match: { sourceCidr: ["10.1.2.0/24", "fd00:1:2::/48"] }
egress:
  - identity: billing
    allow:
      - id: stripe-api
        host: api.stripe.com
        methods: [GET, POST]
        paths: ["/v1/charges/**", "/v1/customers/*"]
      - id: stripe-files
        host: files.stripe.com
        mode: report
        paths: ["/v1/files/**"]
      - id: stripe-wild
        host: "*.stripe.com"
        port: 443
        methods: [GET]
      - id: internal-api
        host: "*.internal.test"
      - id: partner-8443
        host: partner.example.com
        port: 8443
      - id: v6-literal
        host: "2001:db8::10"
      - id: metadata-named
        host: 169.254.169.254
        methods: [GET]
        paths: ["/latest/meta-data/instance-id"]
  - identity: payments-exact
    allow:
      - { id: payments-stripe, host: api.stripe.com }
  - identity: mesh-client
    allow:
      - { id: mesh-github, host: api.github.com }
  - identity: ci
    allow:
      - { id: github, host: "*.github.com" }
      - { id: npm-get, host: registry.npmjs.org, methods: [GET] }
  - identity: legacy-batch
    allow:
      - { id: legacy-s3, host: s3.amazonaws.com }
  - identity: "*"
    allow:
      - { id: sts, host: sts.amazonaws.com, methods: [POST] }
`;
