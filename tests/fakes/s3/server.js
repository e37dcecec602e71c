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
// "-"; a request a fault answered ends with " fault=ACTION"). DIR/faults,
// when present, is read on every request: each line
// "METHOD SUBSTRING ACTION COUNT [ARG]" applies to the next COUNT requests
// whose method is METHOD and whose URL contains SUBSTRING (the first line
// with uses left wins; the uses start afresh whenever the file is written
// again); ACTION is
//   STATUS   (a number) the answer: STATUS with an S3 error body (the
//            request body is drained first): 503 is S3's throttling
//            answer, SlowDown, any other status InternalError; ARG, when
//            given, is sent as Retry-After (seconds)
//   drop     the request is served, then the connection is closed: a GET
//            answered 200 or 206 gets its status, headers and half of its
//            body first; any other request gets nothing (a lost reply)
//   delay    the request is served after ARG seconds (1 when absent)
//
// Beyond s3rver: ListMultipartUploads (GET /BUCKET?uploads) and
// AbortMultipartUpload (DELETE /BUCKET/KEY?uploadId=ID), which s3rver 3.x
// lacks, are answered here from its upload directories, so a test can see
// the multipart uploads left behind; CompleteMultipartUpload of an upload
// that is gone is 404 NoSuchUpload, as S3 answers (s3rver: 500).
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
let faultsSeen = '';

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

// The fault for this request, {action, arg}, or null.
function fault(req) {
  let text, stamp;
  try {
    stamp = String(fs.statSync(faultsPath).mtimeMs);
    text = fs.readFileSync(faultsPath, 'utf8');
  } catch (e) {
    return null;
  }
  if (stamp + text !== faultsSeen) {	// a new file: every line fresh
    faultsSeen = stamp + text;
    faultsUsed.clear();
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if ((f.length !== 4 && f.length !== 5) || f[0] !== req.method ||
        !req.url.includes(f[1]))
      continue;
    const used = faultsUsed.get(line) || 0;
    if (used >= Number(f[3])) continue;
    faultsUsed.set(line, used + 1);
    return { action: f[2], arg: f[4] };
  }
  return null;
}

function logLine(req, status, len, extra) {
  fs.appendFileSync(logPath, `${req.method} ${req.url} range=${req.headers.range || '-'} status=${status} bytes=${len === undefined ? '-' : len}${extra}\n`);
}

// drop: let the request be served, then cut the answer (see the top).
function cutAnswer(req, res) {
  let limit = null;
  let sent = 0;
  let done = false;
  const write = res.write.bind(res);
  const close = () => {
    if (done) return;
    done = true;
    logLine(req, limit === null || limit < 0 ? '-' : res.statusCode,
      res.getHeader('content-length'), ' fault=drop');
    res.socket.end();
  };
  const start = () => {
    if (limit !== null) return;
    const len = Number(res.getHeader('content-length'));
    if (req.method === 'GET' && (res.statusCode === 200 || res.statusCode === 206) && len > 1)
      limit = Math.floor(len / 2);
    else
      limit = -1;
  };
  res.write = (chunk, enc, cb) => {
    start();
    if (limit < 0 || done) {
      close();
      return false;
    }
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8');
    const room = limit - sent;
    if (b.length >= room) {
      if (room > 0) write(b.subarray(0, room));
      sent = limit;
      close();
      return false;
    }
    sent += b.length;
    return write(b, cb);
  };
  res.end = (chunk, enc, cb) => {
    start();
    if (chunk && typeof chunk !== 'function') res.write(chunk, enc);
    close();
    return res;
  };
}

function errorXml(code, message) {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code +
    '</Code><Message>' + message + '</Message></Error>';
}

function answer(req, res, status, code, message, headers) {
  req.resume();
  req.on('end', () => {
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/xml' }, headers || {}));
    res.end(errorXml(code, message));
  });
}

function xmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// The upload directories s3rver keeps for BUCKET: {id: key}.
function uploadsOf(bucket) {
  const d = path.join(dir, 'data', bucket, '._S3rver_uploads');
  const out = {};
  let ids = [];
  try {
    ids = fs.readdirSync(d);
  } catch (e) {
    return out;
  }
  for (const id of ids) {
    try {
      out[id] = fs.readFileSync(path.join(d, id, 'key'), 'utf8');
    } catch (e) {
      // half made: not an upload yet
    }
  }
  return out;
}

// ListMultipartUploads and AbortMultipartUpload; false for anything else.
function multipart(req, res) {
  const u = new URL(req.url, 'http://x');
  const segs = u.pathname.split('/').slice(1).map(decode);
  if (segs.includes(null) || !segs[0]) return false;
  const bucket = segs[0];
  if (req.method === 'GET' && segs.length === 1 && u.searchParams.has('uploads')) {
    if (!fs.existsSync(path.join(dir, 'data', bucket))) return false;
    const ups = uploadsOf(bucket);
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>' +
      xmlEscape(bucket) + '</Bucket><IsTruncated>false</IsTruncated>' +
      Object.keys(ups).sort().map(id => '<Upload><Key>' + xmlEscape(ups[id]) +
        '</Key><UploadId>' + xmlEscape(id) + '</UploadId></Upload>').join('') +
      '</ListMultipartUploadsResult>';
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    return true;
  }
  if (req.method === 'POST' && segs.length > 1 && u.searchParams.has('uploadId') &&
      !(u.searchParams.get('uploadId') in uploadsOf(bucket))) {
    // s3rver answers 500 for an upload it no longer has; S3 says this
    answer(req, res, 404, 'NoSuchUpload', 'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    return true;
  }
  if (req.method === 'DELETE' && segs.length > 1 && u.searchParams.has('uploadId')) {
    const id = u.searchParams.get('uploadId');
    const ups = uploadsOf(bucket);
    if (!/^[A-Za-z0-9_-]+$/.test(id) || ups[id] !== segs.slice(1).join('/')) {
      answer(req, res, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
      return true;
    }
    fs.rmSync(path.join(dir, 'data', bucket, '._S3rver_uploads', id), { recursive: true, force: true });
    req.resume();
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
    return true;
  }
  return false;
}

async function main() {
  const s3 = new S3rver({ directory: path.join(dir, 'data'), silent: true });
  const handler = s3.callback();
  const server = http.createServer((req, res) => {
    const f = fault(req);
    const action = f ? f.action : '';
    res.on('finish', () => {
      logLine(req, res.statusCode, res.getHeader('content-length'),
        action ? ' fault=' + action : '');
    });
    if (/^[0-9]{3}$/.test(action)) {
      const status = Number(action);
      const headers = f.arg !== undefined ? { 'Retry-After': f.arg } : {};
      return status === 503
        ? answer(req, res, status, 'SlowDown', 'Please reduce your request rate.', headers)
        : answer(req, res, status, 'InternalError', 'injected fault', headers);
    }
    const serve = () => {
      if (req.headers.authorization) {
        const why = checkSignature(req);
        if (why)
          return answer(req, res, 403, 'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided. Check your key and signing method. (' + why + ')');
      }
      if (action === 'drop') cutAnswer(req, res);
      if (multipart(req, res)) return undefined;
      return handler(req, res);
    };
    if (action === 'delay') {
      req.pause();
      return setTimeout(serve, 1000 * Number(f.arg === undefined ? 1 : f.arg));
    }
    return serve();
  });
  server.listen(Number(port), '127.0.0.1', () => {
    fs.writeFileSync(path.join(dir, 'port'), String(server.address().port) + '\n');
  });
}

main().catch(e => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
