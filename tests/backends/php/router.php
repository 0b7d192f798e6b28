<?php
/*
 * Router for PHP's built-in web server: one URL path per SOAP service, each a real
 * ext-soap SoapServer. Started by tests/backends/php_soap.py as
 *
 *   php -S 127.0.0.1:PORT router.php
 *
 *   GET  /health            "ok" (readiness probe)
 *   POST /inventory         inventory.php: rpc/encoded, SOAP 1.1, SOAP-encoded arrays
 *   POST /accounts12        accounts.php: document/literal wrapped, SOAP 1.2, Session header
 *   POST /quotes            quotes.php: rpc/literal, SOAP 1.1, the WSDL node-soap serves too
 *   GET  <path>?wsdl        the WSDL as served
 *
 * The gateway loads the same WSDL files (see docs/interop.md).
 */
declare(strict_types=1);

const SERVICES = [
    '/inventory' => ['script' => 'inventory.php', 'wsdl' => 'wsdl/inventory.wsdl'],
    '/accounts12' => ['script' => 'accounts.php', 'wsdl' => 'wsdl/accounts.wsdl'],
    '/quotes' => ['script' => 'quotes.php', 'wsdl' => '../node/wsdl/quotes.wsdl'],
];

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
if ($path === '/health') {
    header('Content-Type: text/plain; charset=utf-8');
    echo "ok\n";
    return true;
}
if (!isset(SERVICES[$path])) {
    http_response_code(404);
    header('Content-Type: text/plain; charset=utf-8');
    echo "not found\n";
    return true;
}
$service = SERVICES[$path];
$wsdl = __DIR__ . '/' . $service['wsdl'];
if ($_SERVER['REQUEST_METHOD'] === 'GET') {
    header('Content-Type: text/xml; charset=utf-8');
    readfile($wsdl);
    return true;
}
require __DIR__ . '/' . $service['script'];
serve($wsdl);
return true;
