<?php
/*
 * Inventory: rpc/encoded (SOAP 1.1, section-5 encoding) with SOAP-encoded arrays, served by
 * ext-soap's SoapServer as it ships. Included by router.php, which calls serve().
 *
 * Data: three items in categories tools (2 items), hardware (1) and garden (0);
 * BulkItems(n) generates n items (tests/integration/test_interop_php.py mirrors the formula).
 * An unknown sku is a Client fault whose detail is a stdClass (PHP writes its properties as
 * unqualified children of <detail>).
 */
declare(strict_types=1);

final class InventoryService
{
    private const ITEMS = [
        'HAM-01' => [
            'sku' => 'HAM-01', 'name' => 'Hammer', 'category' => 'tools', 'quantity' => 12,
            'price' => '19.90', 'active' => true, 'restocked' => '2026-03-01', 'note' => null,
            'tags' => ['tools', 'steel'],
        ],
        'SAW-02' => [
            'sku' => 'SAW-02', 'name' => 'Säge „Fuchsschwanz“', 'category' => 'tools', 'quantity' => 0,
            'price' => '0.05', 'active' => false, 'restocked' => '1999-01-31',
            'note' => 'Nur Abholung – 取り置き 🪚', 'tags' => ['tools'],
        ],
        'NUT-03' => [
            'sku' => 'NUT-03', 'name' => 'Nut M6 <DIN 934> & washer', 'category' => 'hardware',
            'quantity' => 100000, 'price' => '1234.5678', 'active' => true, 'restocked' => '2026-02-28',
            'note' => '', 'tags' => [],
        ],
    ];

    private static function item(array $row): array
    {
        unset($row['category']);
        return $row;
    }

    public function ListItems(string $category): array
    {
        $found = [];
        foreach (self::ITEMS as $row) {
            if ($row['category'] === $category) {
                $found[] = self::item($row);
            }
        }
        return $found;
    }

    public function GetItem(string $sku): array
    {
        if (!isset(self::ITEMS[$sku])) {
            $detail = new stdClass();
            $detail->Entity = 'Item';
            $detail->Key = $sku;
            throw new SoapFault('Client', "Item $sku not found", null, $detail);
        }
        return self::item(self::ITEMS[$sku]);
    }

    /** @param string[] $skus decoded from a SOAP-encoded array */
    public function GetItems($skus): array
    {
        $found = [];
        foreach ((array) $skus as $sku) {
            if (isset(self::ITEMS[$sku])) {
                $found[] = self::item(self::ITEMS[$sku]);
            }
        }
        return $found;
    }

    public function BulkItems(int $count): array
    {
        if ($count > 20000) {
            throw new SoapFault('Server', 'Too many items requested');
        }
        $items = [];
        for ($i = 1; $i <= $count; $i++) {
            $items[] = [
                'sku' => sprintf('BULK-%05d', $i),
                'name' => "Teil $i – Größe " . ($i % 9),
                'quantity' => $i * 3,
                'price' => sprintf('%d.%02d', intdiv($i, 7), $i % 100),
                'active' => $i % 3 !== 0,
                'restocked' => sprintf('2025-%02d-%02d', 1 + $i % 12, 1 + $i % 28),
                'note' => $i % 4 === 0 ? null : "Lager $i",
                'tags' => $i % 3 === 0 ? [] : array_map(static fn (int $k): string => "t$k", range(1, $i % 3)),
            ];
        }
        return $items;
    }
}

function serve(string $wsdl): void
{
    $server = new SoapServer($wsdl, ['cache_wsdl' => WSDL_CACHE_NONE, 'encoding' => 'UTF-8']);
    $server->setObject(new InventoryService());
    $server->handle();
}
