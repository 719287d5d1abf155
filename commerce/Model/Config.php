<?php
declare(strict_types=1);

namespace OmsBridge\Connector\Model;

use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Store\Model\ScopeInterface;

/**
 * The module's settings (etc/adminhtml/system.xml, defaults in etc/config.xml).
 */
class Config
{
    public const XML_STOREFRONT_ENABLED = 'oms_bridge/storefront/enabled';
    public const XML_STOREFRONT_API_URL = 'oms_bridge/storefront/api_url';
    public const XML_STERLING_OWNS_FULFILMENT = 'oms_bridge/fulfilment/sterling_owns';

    public const ACTION_SHIP = 'ship';
    public const ACTION_INVOICE = 'invoice';
    public const ACTION_CREDITMEMO = 'creditmemo';

    /** Each action Sterling may own: its setting, and the admin buttons that start it. */
    public const ACTIONS = [
        self::ACTION_SHIP => ['path' => 'oms_bridge/fulfilment/lock_ship', 'buttons' => ['order_ship']],
        self::ACTION_INVOICE => ['path' => 'oms_bridge/fulfilment/lock_invoice', 'buttons' => ['order_invoice']],
        self::ACTION_CREDITMEMO => [
            'path' => 'oms_bridge/fulfilment/lock_creditmemo',
            'buttons' => ['order_creditmemo', 'credit-memo'],
        ],
    ];

    public function __construct(private readonly ScopeConfigInterface $scopeConfig)
    {
    }

    public function isStorefrontEnabled(?int $storeId = null): bool
    {
        return $this->scopeConfig->isSetFlag(self::XML_STOREFRONT_ENABLED, ScopeInterface::SCOPE_STORE, $storeId)
            && $this->storefrontApiUrl($storeId) !== '';
    }

    public function storefrontApiUrl(?int $storeId = null): string
    {
        $url = (string)$this->scopeConfig->getValue(self::XML_STOREFRONT_API_URL, ScopeInterface::SCOPE_STORE, $storeId);
        return rtrim(trim($url), '/');
    }

    /** Whether admin users are kept from $action (ship, invoice, creditmemo): Sterling owns it. */
    public function isLocked(string $action): bool
    {
        $setting = self::ACTIONS[$action]['path'] ?? null;
        return $setting !== null
            && $this->scopeConfig->isSetFlag(self::XML_STERLING_OWNS_FULFILMENT)
            && $this->scopeConfig->isSetFlag($setting);
    }

    /** @return string[] ids of the admin buttons of the locked actions */
    public function lockedButtons(): array
    {
        $buttons = [];
        foreach (self::ACTIONS as $action => $spec) {
            if ($this->isLocked($action)) {
                array_push($buttons, ...$spec['buttons']);
            }
        }
        return $buttons;
    }
}
