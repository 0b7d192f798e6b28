#!/usr/bin/env node
/*
 * Interop test backend for Mediator: services written for the purpose, served by the
 * real node-soap package (npm `soap`), used as it ships. See docs/interop.md.
 *
 *   node interop-server.js [--port N]      (default 0 = ephemeral port)
 *
 * Binds 127.0.0.1 only and serves, from the WSDLs in ./wsdl:
 *
 *   /catalog          Catalog, document/literal wrapped, SOAP 1.1
 *   /catalog12        Catalog, document/literal wrapped, SOAP 1.2
 *   /catalog-secure   Catalog, SOAP 1.1, WS-Security UsernameToken (PasswordText) required,
 *                     checked by node-soap's `authenticate` hook
 *   /catalog-as-shipped  Catalog, SOAP 1.1, without the xsi declaration below
 *   /quotes           Quotes, rpc/literal, SOAP 1.1
 *
 * When listening it prints exactly one line, `LISTENING <port>`, to stdout and nothing
 * else there. Diagnostics go to stderr (INTEROP_SERVER_LOG=1 logs every exchange).
 * Exits with status 0 on SIGTERM or SIGINT.
 *
 * Unlike orders-server.js this server leaves node-soap's output alone (Content-Type,
 * fault layouts, namespace prefixes): the gateway must cope with it as it is. Only these
 * options are set, each needed by any real node-soap service:
 *  - forceSoap12Headers for the SOAP 1.2 endpoint (node-soap otherwise answers 1.1);
 *  - customDeserializer for decimal, date and dateTime, which node-soap would otherwise
 *    turn into a JS Number (losing digits) and a Date (echoed back as a dateTime);
 *  - xmlns:xsi added to the envelope's declarations: node-soap writes xsi:nil="true" for a
 *    null value but never declares the prefix (it copies the WSDL root's declarations,
 *    leaving out every w3.org namespace), which makes the answer namespace-ill-formed.
 *    /catalog-as-shipped keeps that defect, to test how the gateway treats it.
 * Faults are thrown as node-soap fault objects ({Fault: {...}}), as its README shows.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');

const WSDL_DIR = path.resolve(__dirname, 'wsdl');
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** Credentials the secure endpoint accepts (the tests give the gateway the same ones). */
const WSS_USER = 'mediator';
const WSS_PASSWORD = 'pässwörd-🔑-42';
const PASSWORD_TEXT =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

const LOG = Boolean(process.env.INTEROP_SERVER_LOG);

function log(...args) {
  if (LOG) {
    console.error('[interop-server]', ...args);
  }
}

function parseArgs(argv) {
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let value;
    if (arg === '--port') {
      value = argv[++i];
    } else if (arg.startsWith('--port=')) {
      value = arg.slice('--port='.length);
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
    if (value === undefined || !/^\d+$/.test(value) || Number(value) > 65535) {
      throw new Error(`--port needs an integer 0-65535, got ${value}`);
    }
    port = Number(value);
  }
  return { port };
}

// -------------------------------------------------------------------- faults

/**
 * A fault in the layout node-soap serialises for the endpoint's SOAP version.
 * `side` is 'client' (Client / Sender) or 'server' (Server / Receiver).
 */
function fault(soap12, side, message, detail, subcode) {
  if (soap12) {
    const code = { Value: side === 'client' ? 'soap:Sender' : 'soap:Receiver' };
    if (subcode) {
      code.Subcode = { Value: subcode };
    }
    const out = { Code: code, Reason: { Text: message }, statusCode: 500 };
    if (detail) {
      out.Detail = detail;
    }
    return { Fault: out };
  }
  // The presence of `faultcode` is what makes node-soap use the SOAP 1.1 layout.
  const out = {
    faultcode: side === 'client' ? 'soap:Client' : 'soap:Server',
    faultstring: message,
    statusCode: 500,
  };
  if (detail) {
    out.detail = detail;
  }
  return { Fault: out };
}

function notFound(soap12, entity, key) {
  // No namespace given: node-soap writes the detail entries unqualified (1.1) or with
  // the envelope prefix (1.2). The gateway reads fault details by local name.
  return fault(soap12, 'client', `${entity} ${key} not found`, { NotFound: { Entity: entity, Key: String(key) } },
    'tns:NotFound');
}

// ------------------------------------------------------------------ catalog

const PRODUCTS = [
  {
    Id: 1,
    Sku: 'KB-1',
    Name: 'Clavier ergonomique « Zoë »',
    Description: 'Touches mécaniques — 日本語配列 ✓ 🎹',
    Price: '129.90',
    Discount: '10.00',
    InStock: true,
    ReleaseDate: '2025-02-28',
    UpdatedAt: '2026-01-05T10:20:30Z',
    Rating: 4.5,
    Tag: ['usb', 'keyboard', 'ergonomic'],
    Variant: [
      { Code: 'FR', Color: 'gris anthracite', Weight: '0.850', Available: true },
      { Code: 'DE', Weight: null, Available: false },
    ],
  },
  {
    Id: 2,
    Sku: 'MS-2',
    Name: 'Mouse',
    Price: '0.10',
    Discount: null,
    InStock: false,
    ReleaseDate: '1999-12-31',
    UpdatedAt: '2026-03-01T00:00:00+01:00',
  },
  {
    Id: 3,
    Sku: 'CB-3',
    Name: 'Câble & <adaptateur> "USB-C"',
    Description: '',
    Price: '1234567890.123456789',
    Discount: '0',
    InStock: true,
    ReleaseDate: '2026-02-01',
    UpdatedAt: '2026-02-01T08:00:00.250Z',
    Rating: 3,
    Tag: ['usb'],
    Variant: [{ Code: 'STD', Color: 'noir', Weight: '0.045', Available: true }],
  },
];

const pad = (n) => String(n).padStart(2, '0');

/** Product number i of ExportProducts; tests/integration/test_interop_node.py mirrors it. */
function exportedProduct(i) {
  const p = {
    Id: i,
    Sku: `EXP-${String(i).padStart(5, '0')}`,
    Name: `Artikel ${i} – Größe ${i % 7}`,
  };
  if (i % 3 !== 0) {
    p.Description = `Beschreibung für Artikel ${i}`;
  }
  p.Price = `${i}.${pad(i % 100)}`;
  p.Discount = i % 5 === 0 ? null : `${i % 10}.5`;
  p.InStock = i % 2 === 0;
  p.ReleaseDate = `2024-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`;
  p.UpdatedAt = `2026-01-${pad(1 + (i % 28))}T${pad(i % 24)}:${pad(i % 60)}:00Z`;
  if (i % 4 !== 0) {
    p.Rating = `${i % 5}.${i % 10}`;
  }
  if (i % 3 > 0) {
    p.Tag = Array.from({ length: i % 3 }, (_, k) => `tag-${k}`);
  }
  if (i % 2 === 1) {
    p.Variant = [{ Code: `V${i}`, Weight: '1.250', Available: true }];
  }
  return p;
}

function catalogOperations(soap12) {
  return {
    GetProduct(args) {
      const id = args.Id;
      if (id === 500) {
        throw fault(soap12, 'server', 'Catalog database unavailable');
      }
      const product = PRODUCTS.find((p) => p.Id === id);
      if (!product) {
        throw notFound(soap12, 'Product', id);
      }
      return { Product: product };
    },

    FindProducts(args) {
      const found = PRODUCTS.filter((p) => (p.Tag || []).includes(args.Tag));
      // An empty array would be written as nothing too; an absent key is explicit.
      return found.length > 0 ? { Product: found } : {};
    },

    AddReview(args) {
      const review = args.Review;
      if (!PRODUCTS.some((p) => p.Id === review.ProductId)) {
        throw notFound(soap12, 'Product', review.ProductId);
      }
      // node-soap has already typed the values: ints and booleans are JS values; decimal,
      // date and dateTime stay text through customDeserializer.
      const stored = {
        ProductId: review.ProductId,
        Author: review.Author,
        Text: review.Text,
        Score: review.Score,
        Recommended: review.Recommended,
        VisitedOn: review.VisitedOn,
      };
      if (review.Email !== undefined) {
        stored.Email = review.Email;
      }
      return { ReviewId: 7000 + review.ProductId, Stored: stored };
    },

    ExportProducts(args) {
      const count = Math.max(0, Math.min(args.Count, 5000));
      return count > 0 ? { Product: Array.from({ length: count }, (_, k) => exportedProduct(k + 1)) } : {};
    },
  };
}

/** node-soap's authenticate hook: a UsernameToken with the expected PasswordText. */
function checkUsernameToken(security) {
  const token = security && security.UsernameToken;
  if (!token) {
    return false;
  }
  const password = token.Password;
  const text = typeof password === 'object' && password !== null ? password.$value : password;
  const type = typeof password === 'object' && password !== null && password.attributes
    ? password.attributes.Type
    : undefined;
  log('UsernameToken for', JSON.stringify(token.Username));
  return token.Username === WSS_USER && text === WSS_PASSWORD && (type === undefined || type === PASSWORD_TEXT);
}

// ------------------------------------------------------------------- quotes

const QUOTES = {
  ACME: { price: '101.25', closed: false, asOf: '2026-04-01T15:30:00Z', closes: ['100.00', '100.50', '101.25'] },
  'ÜBER': { price: '7.000', closed: true, asOf: '2026-04-01T17:30:00+02:00', closes: ['7.000'] },
  NEW: { price: '1', closed: false, asOf: '2026-04-01T09:00:00Z', closes: [] },
};

function quoteOperations() {
  return {
    GetQuote(args) {
      const quote = QUOTES[args.symbol];
      if (!quote) {
        throw fault(false, 'client', `Unknown symbol ${args.symbol}`);
      }
      const days = Math.max(0, args.days);
      const closes = quote.closes.slice(-days || quote.closes.length);
      const points = (days === 0 ? [] : closes).map((close, k) => ({ day: `2026-03-${pad(29 + k)}`, close }));
      return {
        symbol: args.symbol,
        price: quote.price,
        closed: quote.closed,
        asOf: quote.asOf,
        history: points.length > 0 ? { point: points } : {},
      };
    },
  };
}

// ------------------------------------------------------------------- server

const DESERIALIZERS = {
  decimal: (text) => text,
  date: (text) => text,
  dateTime: (text) => text,
};

function listenSoap(httpServer, options, { declareXsi = true } = {}) {
  return new Promise((resolve, reject) => {
    soap.listen(httpServer, {
      ...options,
      customDeserializer: DESERIALIZERS,
      suppressStack: true,
      callback(err, soapServer) {
        if (err) {
          reject(err);
          return;
        }
        if (declareXsi && !/\bxmlns:xsi=/.test(soapServer.wsdl.xmlnsInEnvelope)) {
          soapServer.wsdl.xmlnsInEnvelope += ` xmlns:xsi="${XSI_NS}"`;
        }
        if (LOG) {
          soapServer.log = (type, data) => log(type, typeof data === 'string' ? data : String(data));
        }
        resolve(soapServer);
      },
    });
  });
}

function wrapAll(operations, label) {
  const out = {};
  for (const [name, fn] of Object.entries(operations)) {
    out[name] = (args) => {
      log(label, name, JSON.stringify(args));
      return fn(args);
    };
  }
  return out;
}

async function main() {
  const { port } = parseArgs(process.argv.slice(2));
  const catalogXml = fs.readFileSync(path.join(WSDL_DIR, 'catalog.wsdl'), 'utf8');
  const quotesXml = fs.readFileSync(path.join(WSDL_DIR, 'quotes.wsdl'), 'utf8');

  const httpServer = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('ok\n');
      return;
    }
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('not found\n');
  });

  const catalog11 = wrapAll(catalogOperations(false), 'catalog 1.1');
  const catalog12 = wrapAll(catalogOperations(true), 'catalog 1.2');
  // node-soap picks the WSDL port whose soap:address path equals the request path.
  await listenSoap(httpServer, {
    path: '/catalog',
    xml: catalogXml,
    services: { CatalogService: { CatalogSoap11: catalog11, CatalogSoap12: catalog11, CatalogSecure: catalog11 } },
  });
  await listenSoap(httpServer, {
    path: '/catalog12',
    xml: catalogXml,
    forceSoap12Headers: true,
    services: { CatalogService: { CatalogSoap11: catalog12, CatalogSoap12: catalog12, CatalogSecure: catalog12 } },
  });
  const secure = await listenSoap(httpServer, {
    path: '/catalog-secure',
    xml: catalogXml,
    services: { CatalogService: { CatalogSoap11: catalog11, CatalogSoap12: catalog11, CatalogSecure: catalog11 } },
  });
  secure.authenticate = checkUsernameToken;
  await listenSoap(
    httpServer,
    {
      path: '/catalog-as-shipped',
      xml: catalogXml,
      services: { CatalogService: { CatalogSoap11: catalog11, CatalogSoap12: catalog11, CatalogSecure: catalog11 } },
    },
    { declareXsi: false },
  );
  await listenSoap(httpServer, {
    path: '/quotes',
    xml: quotesXml,
    services: { QuoteService: { QuoteSoap11: wrapAll(quoteOperations(), 'quotes') } },
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, '127.0.0.1', resolve);
  });

  const shutdown = (signal) => {
    log(`${signal}: shutting down`);
    httpServer.close();
    httpServer.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
}

main().catch((err) => {
  console.error('[interop-server] failed to start:', err && err.stack ? err.stack : err);
  process.exit(1);
});
