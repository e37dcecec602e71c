'use strict';
// server.js - s3rver behind a gate that checks AWS Signature Version 4.
//
//   node server.js DIR PORT ACCESS_KEY SECRET_KEY
//
// s3rver 3.x checks that a V4 request's access key exists but never its
// signature, so this gate recomputes every signature (canonical URI, query
// and headers as AWS defines them; the payload hash as the client sent it
// in x-amz-content-sha256, which must be present) and answers a mismatch
// with 403 SignatureDoesNotMatch as S3 does. Objects live in DIR/data.
//
// DIR/log gets one line per request: "METHOD URL range=R status=S
// bytes=B" (R the Range header or "-", B the response Content-Length or
// "-"). DIR/faults, when present, is read on every request: each line
// "METHOD SUBSTRING STATUS COUNT" answers the next COUNT requests whose
// method is METHOD and whose URL contains SUBSTRING with STATUS and an S3
// InternalError body (the request body is drained first).
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

// s3rver makes continuation tokens with DES, which OpenSSL 3 (so Node
// 17+) no longer has: the listing of a truncated page fails with 500. Give
// it AES-128-CTR under the same key and IV, doubled to AES's sizes.
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const orig = crypto[name];
  crypto[name] = (alg, key, iv, ...rest) =>
    alg === 'des'
      ? orig.call(crypto, 'aes-128-ctr', Buffer.concat([key, key]),
        Buffer.concat([iv, iv]), ...rest)
      : orig.call(crypto, alg, key, iv, ...rest);
}

const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

const [dir, port, accessKey, secretKey] = process.argv.slice(2);
if (!dir || !port || !accessKey || !secretKey) {
  process.stderr.write('usage: server.js DIR PORT ACCESS_KEY SECRET_KEY\n');
  process.exit(2);
}

AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

const logPath = path.join(dir, 'log');
const faultsPath = path.join(dir, 'faults');
const faultsUsed = new Map();

// AWS UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper case).
function uriEncode(s, keepSlash) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch (e) {
    return null;
  }
}

function canonicalQuery(q) {
  if (!q) return '';
  const pairs = [];
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    const v = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (k === null || v === null) return null;
    pairs.push([uriEncode(k, false), uriEncode(v, false)]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
  return pairs.map(p => p[0] + '=' + p[1]).join('&');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

// null when the signature holds, else why not.
function checkSignature(req) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;\-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'the Authorization header is not AWS4-HMAC-SHA256';
  const [, key, date, region, signed, given] = m;
  if (key !== accessKey) return null; // s3rver answers InvalidAccessKeyId
  const amzDate = req.headers['x-amz-date'] || '';
  if (amzDate.slice(0, 8) !== date) return 'x-amz-date does not match the scope';
  const payload = req.headers['x-amz-content-sha256'];
  if (!payload) return 'x-amz-content-sha256 is missing';
  const names = signed.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date') ||
      !names.includes('x-amz-content-sha256'))
    return 'host, x-amz-date and x-amz-content-sha256 must be signed';
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const segs = rawPath.split('/').map(decode);
  if (segs.includes(null)) return 'the path is not valid percent-encoding';
  const uri = segs.map(s => uriEncode(s, false)).join('/');
  const query = canonicalQuery(q < 0 ? '' : req.url.slice(q + 1));
  if (query === null) return 'the query is not valid percent-encoding';
  const headers = names.map(n => {
    let v = req.headers[n];
    if (v === undefined) v = '';
    if (Array.isArray(v)) v = v.join(',');
    return n + ':' + String(v).trim().replace(/\s+/g, ' ') + '\n';
  }).join('');
  const creq = [req.method, uri, query, headers, signed, payload].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope,
    crypto.createHash('sha256').update(creq, 'utf8').digest('hex')].join('\n');
  let k = hmac('AWS4' + secretKey, date);
  k = hmac(k, region);
  k = hmac(k, 's3');
  k = hmac(k, 'aws4_request');
  const want = hmac(k, sts).toString('hex');
  return want === given ? null : 'signature mismatch';
}

function fault(req) {
  let text;
  try {
    text = fs.readFileSync(faultsPath, 'utf8');
  } catch (e) {
    return 0;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 4 || f[0] !== req.method || !req.url.includes(f[1]))
      continue;
    const used = faultsUsed.get(line) || 0;
    if (used >= Number(f[3])) continue;
    faultsUsed.set(line, used + 1);
    return Number(f[2]);
  }
  return 0;
}

function errorXml(code, message) {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code +
    '</Code><Message>' + message + '</Message></Error>';
}

function answer(req, res, status, code, message) {
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'Content-Type': 'application/xml' });
    res.end(errorXml(code, message));
  });
}

async function main() {
  const s3 = new S3rver({ directory: path.join(dir, 'data'), silent: true });
  const handler = s3.callback();
  const server = http.createServer((req, res) => {
    res.on('finish', () => {
      const len = res.getHeader('content-length');
      fs.appendFileSync(logPath, `${req.method} ${req.url} range=${req.headers.range || '-'} status=${res.statusCode} bytes=${len === undefined ? '-' : len}\n`);
    });
    const status = fault(req);
    if (status) return answer(req, res, status, 'InternalError', 'injected fault');
    if (req.headers.authorization) {
      const why = checkSignature(req);
      if (why)
        return answer(req, res, 403, 'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method. (' + why + ')');
    }
    return handler(req, res);
  });
  server.listen(Number(port), '127.0.0.1', () => {
    fs.writeFileSync(path.join(dir, 'port'), String(server.address().port) + '\n');
  });
}

main().catch(e => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
