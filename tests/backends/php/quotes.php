<?php
/*
 * Quotes: rpc/literal, SOAP 1.1, served by ext-soap's SoapServer from the very WSDL node-soap
 * serves (tests/backends/node/wsdl/quotes.wsdl), so one contract runs on both engines.
 * Included by router.php, which calls serve(). Same data as interop-server.js.
 */
declare(strict_types=1);

final class QuoteService
{
    private const QUOTES = [
        'ACME' => ['price' => '101.25', 'closed' => false, 'asOf' => '2026-04-01T15:30:00Z',
            'closes' => ['100.00', '100.50', '101.25']],
        'ÜBER' => ['price' => '7.000', 'closed' => true, 'asOf' => '2026-04-01T17:30:00+02:00',
            'closes' => ['7.000']],
        'NEW' => ['price' => '1', 'closed' => false, 'asOf' => '2026-04-01T09:00:00Z', 'closes' => []],
    ];

    /** Several output parts: PHP takes an array keyed by part name. */
    public function GetQuote(string $symbol, int $days): array
    {
        if (!isset(self::QUOTES[$symbol])) {
            throw new SoapFault('Client', "Unknown symbol $symbol");
        }
        $quote = self::QUOTES[$symbol];
        $closes = $days <= 0 ? [] : array_slice($quote['closes'], -$days);
        $points = [];
        foreach (array_values($closes) as $k => $close) {
            $points[] = ['day' => sprintf('2026-03-%02d', 29 + $k), 'close' => $close];
        }
        return [
            'symbol' => $symbol,
            'price' => $quote['price'],
            'closed' => $quote['closed'],
            'asOf' => $quote['asOf'],
            'history' => ['point' => $points],
        ];
    }
}

function serve(string $wsdl): void
{
    $server = new SoapServer($wsdl, ['cache_wsdl' => WSDL_CACHE_NONE, 'encoding' => 'UTF-8']);
    $server->setObject(new QuoteService());
    $server->handle();
}
