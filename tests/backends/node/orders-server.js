#!/usr/bin/env node
/*
 * Test backend for Mediator: the example "Orders" SOAP service, served by the
 * real node-soap package (npm `soap`) from wsdl/orders.wsdl.
 *
 *   node orders-server.js [--port N]      (default 0 = ephemeral port)
 *
 * Binds 127.0.0.1 only. SOAP 1.1 is served at /orders (port OrderPortSoap11),
 * SOAP 1.2 at /orders12 (port OrderPortSoap12); `GET <path>?wsdl` returns the
 * WSDL as node-soap re-serialises it. When the server is listening it prints
 * exactly one line, `LISTENING <port>`, to stdout and nothing else there.
 * Diagnostics go to stderr (set ORDERS_SERVER_LOG=1 to log every request).
 * Exits with status 0 on SIGTERM or SIGINT.
 *
 * The data set is examples/orders/data.json, loaded once at start-up; orders
 * created with CreateOrder live in memory for the life of the process.
 *
 * node-soap quirks worked around here (see also the comments at each spot):
 *  - the envelope is SOAP 1.1 unless the WSDL object has forceSoap12Headers,
 *    so each endpoint gets its own soap.listen() with its own options;
 *  - a null value is written as xsi:nil="true" but the xsi prefix is never
 *    declared, so it is added to the envelope's namespace declarations;
 *  - fault objects are serialised without schema knowledge: SOAP 1.2 fault
 *    children all get the envelope prefix (detail content included), SOAP 1.1
 *    detail content gets no namespace at all, so the NotFound detail is built
 *    with explicit `tns:` names and an xmlns:tns attribute;
 *  - a fault is sent with HTTP 200 unless the fault object has statusCode;
 *  - a non-fault exception becomes a fault with an unbound `SOAP-ENV:` prefix,
 *    so handlers turn every error into a proper fault themselves;
 *  - the response Content-Type is a copy of the request's (including any
 *    `action` parameter), so it is set per endpoint instead;
 *  - xs:decimal request values are parsed with Number(); a custom deserializer
 *    keeps them as strings so totals are exact.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');

const NS = 'urn:example:orders';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const WSDL_PATH = path.resolve(__dirname, '..', '..', '..', 'wsdl', 'orders.wsdl');
const DATA_PATH = path.resolve(__dirname, '..', '..', '..', 'examples', 'orders', 'data.json');

const ENDPOINTS = [
  { path: '/orders', soap12: false, contentType: 'text/xml; charset=utf-8' },
  { path: '/orders12', soap12: true, contentType: 'application/soap+xml; charset=utf-8' },
];

const LOG = Boolean(process.env.ORDERS_SERVER_LOG);

function log(...args) {
  if (LOG) {
    console.error('[orders-server]', ...args);
  }
}

// ---------------------------------------------------------------- arguments

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

// --------------------------------------------------------------------- data

/** In-memory store, loaded from data.json (never written back). */
function loadStore() {
  const data = JSON.parse(fs.readFileSync(DATA_PATH, 'utf8'));
  return {
    customers: new Map(data.customers.map((c) => [c.Id, c])),
    orders: data.orders.slice(),
    nextOrderId: data.next_order_id,
  };
}

// ------------------------------------------------------------------ decimals

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Parses an xs:decimal string into {units: BigInt, scale: n} (value = units / 10^scale). */
function parseDecimal(text) {
  const m = DECIMAL_RE.exec(String(text).trim());
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
    return null;
  }
  const frac = m[3] || '';
  let units = BigInt((m[2] || '0') + frac);
  if (m[1] === '-') {
    units = -units;
  }
  return { units, scale: frac.length };
}

/** Formats an amount in cents (BigInt) with exactly two decimals. */
function formatCents(cents) {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Sum of quantity x unit price over the lines, exact, rounded half away from zero to cents. */
function totalOf(lines) {
  const scale = Math.max(2, ...lines.map((l) => l.price.scale));
  let sum = 0n;
  for (const line of lines) {
    sum += BigInt(line.quantity) * line.price.units * 10n ** BigInt(scale - line.price.scale);
  }
  const divisor = 10n ** BigInt(scale - 2);
  const negative = sum < 0n;
  const abs = negative ? -sum : sum;
  let cents = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) {
    cents += 1n;
  }
  return formatCents(negative ? -cents : cents);
}

// -------------------------------------------------------------------- faults

class SoapFault {
  /**
   * @param {'client'|'server'} side  who is to blame (Client/Sender or Server/Receiver)
   * @param {string} message          faultstring / Reason text
   * @param {object|undefined} detail detail content, already shaped for node-soap
   */
  constructor(side, message, detail) {
    this.side = side;
    this.message = message;
    this.detail = detail;
  }
}

function notFound(entity, key) {
  // Explicit `tns:` names plus the xmlns:tns attribute: node-soap has no schema
  // for fault contents, so without them the element would be unqualified (1.1)
  // or take the soap: prefix (1.2).
  return new SoapFault('client', `${entity} ${key} not found`, {
    'tns:NotFound': {
      attributes: { 'xmlns:tns': NS },
      'tns:Entity': entity,
      'tns:Key': String(key),
    },
  });
}

/** Shapes a SoapFault into the object node-soap's Server._sendError serialises. */
function toNodeSoapFault(fault, soap12) {
  if (soap12) {
    const out = {
      Code: { Value: fault.side === 'client' ? 'soap:Sender' : 'soap:Receiver' },
      Reason: { Text: { attributes: { 'xml:lang': 'en' }, $value: fault.message } },
      statusCode: 500,
    };
    if (fault.detail) {
      out.Detail = fault.detail;
    }
    return out;
  }
  // The presence of `faultcode` is what makes node-soap use the SOAP 1.1 layout.
  const out = {
    faultcode: fault.side === 'client' ? 'soap:Client' : 'soap:Server',
    faultstring: fault.message,
    statusCode: 500,
  };
  if (fault.detail) {
    out.detail = fault.detail;
  }
  return out;
}

// ------------------------------------------------------------------ requests

function requireInt(args, name) {
  const value = args ? args[name] : undefined;
  if (!Number.isInteger(value)) {
    throw new SoapFault('client', `${name} must be an integer`);
  }
  return value;
}

function optionalInt(args, name) {
  if (!args || args[name] === undefined || args[name] === null) {
    return undefined;
  }
  return requireInt(args, name);
}

function asArray(value) {
  if (value === undefined || value === null) {
    return [];
  }
  return Array.isArray(value) ? value : [value];
}

// ---------------------------------------------------------------- responses

function customerXml(c) {
  const out = { Id: c.Id, Name: c.Name };
  if (c.Email !== undefined && c.Email !== null) {
    out.Email = c.Email;
  }
  out.Vip = c.Vip;
  return out;
}

function orderXml(store, o) {
  const out = {
    Id: o.Id,
    Customer: customerXml(store.customers.get(o.CustomerId)),
    Status: o.Status,
    OrderDate: o.OrderDate,
    CreatedAt: o.CreatedAt,
    ShippedAt: o.ShippedAt === undefined ? null : o.ShippedAt, // null -> xsi:nil="true"
    Total: o.Total,
    Paid: o.Paid,
  };
  if (o.Note !== undefined && o.Note !== null) {
    out.Note = o.Note;
  }
  const lines = o.Lines || [];
  if (lines.length > 0) {
    // An array is written as repeated <Line> elements; an absent key writes none.
    out.Line = lines.map((l) => ({
      Sku: l.Sku,
      Description: l.Description,
      Quantity: l.Quantity,
      UnitPrice: l.UnitPrice,
    }));
  }
  return out;
}

function summaryXml(store, o) {
  return {
    Id: o.Id,
    CustomerName: store.customers.get(o.CustomerId).Name,
    Status: o.Status,
    OrderDate: o.OrderDate,
    Total: o.Total,
  };
}

function utcNow() {
  const iso = new Date().toISOString(); // 2026-03-14T09:26:53.123Z
  return { date: iso.slice(0, 10), dateTime: `${iso.slice(0, 19)}Z` };
}

// --------------------------------------------------------------- operations

function makeOperations(store) {
  return {
    GetOrder(args) {
      const id = requireInt(args, 'OrderId');
      const order = store.orders.find((o) => o.Id === id);
      if (!order) {
        throw notFound('Order', id);
      }
      return { Order: orderXml(store, order) };
    },

    SearchOrders(args) {
      const customerId = optionalInt(args, 'CustomerId');
      const status = args && typeof args.Status === 'string' ? args.Status : undefined;
      const found = store.orders.filter(
        (o) => (customerId === undefined || o.CustomerId === customerId) && (status === undefined || o.Status === status),
      );
      return found.length > 0 ? { Order: found.map((o) => summaryXml(store, o)) } : {};
    },

    CreateOrder(args) {
      const customerId = requireInt(args, 'CustomerId');
      if (!store.customers.has(customerId)) {
        throw notFound('Customer', customerId);
      }
      const rawLines = asArray(args.Line);
      if (rawLines.length === 0) {
        throw new SoapFault('client', 'At least one Line is required');
      }
      const lines = rawLines.map((l) => {
        const quantity = requireInt(l, 'Quantity');
        if (quantity < 1) {
          throw new SoapFault('client', 'Quantity must be at least 1');
        }
        const price = parseDecimal(l && l.UnitPrice !== undefined && l.UnitPrice !== null ? l.UnitPrice : '');
        if (!price) {
          throw new SoapFault('client', 'UnitPrice must be a decimal');
        }
        const sku = l && typeof l.Sku === 'string' ? l.Sku : '';
        return { sku, quantity, price, unitPrice: String(l.UnitPrice).trim() };
      });
      const total = totalOf(lines);
      const now = utcNow();
      const order = {
        Id: store.nextOrderId++,
        CustomerId: customerId,
        Status: 'open',
        OrderDate: now.date,
        CreatedAt: now.dateTime,
        ShippedAt: null,
        Total: total,
        Paid: false,
        Lines: lines.map((l) => ({ Sku: l.sku, Description: l.sku, Quantity: l.quantity, UnitPrice: l.unitPrice })),
      };
      if (typeof args.Note === 'string') {
        order.Note = args.Note;
      }
      store.orders.push(order);
      return { OrderId: order.Id, Status: order.Status, Total: order.Total };
    },

    GetCustomer(args) {
      const id = requireInt(args, 'CustomerId');
      const customer = store.customers.get(id);
      if (!customer) {
        throw notFound('Customer', id);
      }
      return { Customer: customerXml(customer) };
    },
  };
}

/**
 * Wraps the operations for one SOAP version: every SoapFault, and every other
 * exception, is thrown as a node-soap fault object of that version.
 */
function bindOperations(operations, soap12) {
  const bound = {};
  for (const [name, fn] of Object.entries(operations)) {
    bound[name] = (args) => {
      log(soap12 ? 'SOAP 1.2' : 'SOAP 1.1', name, JSON.stringify(args));
      try {
        return fn(args);
      } catch (err) {
        const fault = err instanceof SoapFault ? err : new SoapFault('server', `Internal error: ${err && err.message}`);
        if (!(err instanceof SoapFault)) {
          console.error('[orders-server]', err);
        }
        throw { Fault: toNodeSoapFault(fault, soap12) };
      }
    };
  }
  return bound;
}

// -------------------------------------------------------------------- server

function listenSoap(httpServer, endpoint, services, wsdlXml) {
  return new Promise((resolve, reject) => {
    soap.listen(httpServer, {
      path: endpoint.path,
      services,
      xml: wsdlXml,
      // Envelope namespace: SOAP 1.2 only with this flag (per WSDL object).
      forceSoap12Headers: endpoint.soap12,
      // Write <ShippedAt xsi:nil="true" /> rather than <ShippedAt xsi:nil="true"></ShippedAt>.
      useEmptyTag: true,
      // Keep xs:decimal request values as their exact text.
      customDeserializer: { decimal: (text) => text },
      suppressStack: true,
      callback(err, soapServer) {
        if (err) {
          reject(err);
          return;
        }
        // node-soap writes xsi:nil="true" but never declares xsi.
        if (!/\bxmlns:xsi=/.test(soapServer.wsdl.xmlnsInEnvelope)) {
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

/**
 * node-soap answers a POST with the request's own Content-Type. Set the
 * endpoint's canonical one instead (application/soap+xml for SOAP 1.2).
 */
function forceContentType(req, res) {
  if (req.method !== 'POST') {
    return;
  }
  const pathname = new URL(req.url, 'http://127.0.0.1').pathname.replace(/\/$/, '');
  const endpoint = ENDPOINTS.find((e) => e.path === pathname);
  if (!endpoint) {
    return;
  }
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) =>
    setHeader(name, String(name).toLowerCase() === 'content-type' ? endpoint.contentType : value);
}

async function main() {
  const { port } = parseArgs(process.argv.slice(2));
  const wsdlXml = fs.readFileSync(WSDL_PATH, 'utf8');
  const store = loadStore();
  const operations = makeOperations(store);

  const httpServer = http.createServer((req, res) => {
    // Reached only for paths node-soap does not serve.
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('not found\n');
  });

  for (const endpoint of ENDPOINTS) {
    const impl = bindOperations(operations, endpoint.soap12);
    // Both ports are listed for both endpoints; node-soap picks the WSDL port
    // whose soap:address path equals the request path (/orders, /orders12).
    const services = { OrderService: { OrderPortSoap11: impl, OrderPortSoap12: impl } };
    await listenSoap(httpServer, endpoint, services, wsdlXml);
  }
  httpServer.prependListener('request', forceContentType);

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

  // The one and only stdout line; writes to a pipe are synchronous on POSIX.
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
}

main().catch((err) => {
  console.error('[orders-server] failed to start:', err && err.stack ? err.stack : err);
  process.exit(1);
});
