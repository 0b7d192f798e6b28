<?php
/*
 * Accounts: document/literal wrapped on a SOAP 1.2 binding, served by ext-soap's SoapServer
 * as it ships. Included by router.php, which calls serve().
 *
 * Every request needs the Session header (urn:interop:accounts). SoapServer hands each
 * header to the handler method named after the header element, before the operation runs;
 * a header with mustUnderstand="1" and no such method is a MustUnderstand fault.
 * Faults, written the ways PHP code commonly writes them (see docs/interop.md for what
 * ext-soap makes of each in SOAP 1.2):
 *   no Session header     new SoapFault('Sender', …)        → <Value>ns1:Sender</Value>
 *   unknown tenant        new SoapFault([NS, 'Forbidden'], …) → <Value>ns1:Forbidden</Value>
 *   unknown account       new SoapFault('Client', …, detail, 'NotFound') → env:Sender + detail
 *   account LOCKED-1      new SoapFault('Server', …)        → env:Receiver
 * ext-soap gives every fault of these operations an (empty) <ns1:NotFound/> detail: the
 * operations declare exactly one WSDL fault, and PHP falls back to it.
 */
declare(strict_types=1);

const ACCOUNTS_NS = 'urn:interop:accounts';

final class AccountService
{
    private const TENANTS = ['acme', 'zürich-ag'];

    private const ACCOUNTS = [
        'CH93-0076-2011-6238-5295-7' => [
            'Number' => 'CH93-0076-2011-6238-5295-7',
            'Holder' => 'Zoë Ångström-Øberg',
            'Balance' => '10250.75',
            'Overdraft' => '500.00',
            'Closed' => false,
            'OpenedOn' => '2012-02-29',
            'LastLogin' => '2026-04-02T08:15:00+02:00',
            'Alias' => 'Ersparnisse 💰',
            'Card' => [
                ['Last4' => '4242', 'Expires' => '2028-01-31', 'Contactless' => true],
                ['Last4' => '0005', 'Expires' => '2026-12-31', 'Contactless' => false],
            ],
        ],
        'DE89-3704-0044-0532-0130-00' => [
            'Number' => 'DE89-3704-0044-0532-0130-00',
            'Holder' => 'Jürgen Weiß',
            'Balance' => '-0.01',
            'Overdraft' => null,
            'Closed' => true,
            'OpenedOn' => '1999-12-31',
            'Alias' => null,
            'Card' => [['Last4' => '1881', 'Expires' => '2027-06-30', 'Contactless' => true]],
        ],
        'GB29-NWBK-6016-1331-9268-19' => [
            'Number' => 'GB29-NWBK-6016-1331-9268-19',
            'Holder' => '山田 太郎',
            'Balance' => '0',
            'Overdraft' => '0.00',
            'Closed' => false,
            'OpenedOn' => '2026-01-01',
        ],
    ];

    private ?object $session = null;

    /** The Session header (called by SoapServer before the operation). */
    public function Session(object $session): void
    {
        $this->session = $session;
    }

    private function requireSession(): void
    {
        if ($this->session === null) {
            throw new SoapFault('Sender', 'The Session header is required');
        }
        if (!in_array($this->session->Tenant ?? '', self::TENANTS, true)) {
            throw new SoapFault(
                [ACCOUNTS_NS, 'Forbidden'],
                'Tenant ' . ($this->session->Tenant ?? '') . ' may not use this service'
            );
        }
    }

    private static function notFound(string $number): SoapFault
    {
        $detail = new stdClass();
        $detail->Entity = 'Account';
        $detail->Key = $number;
        return new SoapFault('Client', "Account $number not found", null, $detail, 'NotFound');
    }

    public function GetAccount(object $request): array
    {
        $this->requireSession();
        $number = (string) $request->Number;
        if ($number === 'LOCKED-1') {
            throw new SoapFault('Server', 'Account backend locked, try again later');
        }
        if (!isset(self::ACCOUNTS[$number])) {
            throw self::notFound($number);
        }
        return ['Account' => self::ACCOUNTS[$number]];
    }

    public function Transfer(object $request): array
    {
        $this->requireSession();
        foreach ([$request->From, $request->To] as $number) {
            if (!isset(self::ACCOUNTS[$number])) {
                throw self::notFound((string) $number);
            }
        }
        $response = [
            'TransferId' => 9007199254740993,
            'Amount' => (string) $request->Amount,
            'ValueDate' => (string) $request->ValueDate,
            'Instant' => (bool) $request->Instant,
        ];
        if (isset($request->Reference)) {
            $response['Reference'] = (string) $request->Reference;
        }
        $response['BookedAt'] = '2026-04-02T10:00:00Z';
        return $response;
    }
}

function serve(string $wsdl): void
{
    $server = new SoapServer($wsdl, [
        'soap_version' => SOAP_1_2,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'encoding' => 'UTF-8',
    ]);
    $server->setObject(new AccountService());
    $server->handle();
}
