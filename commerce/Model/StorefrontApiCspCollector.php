<?php
declare(strict_types=1);

namespace OmsBridge\Connector\Model;

use Magento\Csp\Api\PolicyCollectorInterface;
use Magento\Csp\Model\Policy\FetchPolicy;
use Magento\Store\Model\StoreManagerInterface;

/**
 * Lets the product page's components call the storefront API: the origin of the store's Storefront
 * API URL setting (the stack's StorefrontApiUrl output) joins connect-src. Read from the setting, so
 * it is the stack's own host in whatever region it was deployed, and nothing while the URL is empty.
 *
 * Registered in the global etc/di.xml: an area's di.xml would replace Magento_Csp's whole list of
 * collectors rather than add to it.
 */
class StorefrontApiCspCollector implements PolicyCollectorInterface
{
    public function __construct(
        private readonly Config $config,
        private readonly StoreManagerInterface $storeManager
    ) {
    }

    /**
     * @param \Magento\Csp\Api\Data\PolicyInterface[] $defaultPolicies
     * @return \Magento\Csp\Api\Data\PolicyInterface[]
     */
    public function collect(array $defaultPolicies = []): array
    {
        $origin = self::origin($this->config->storefrontApiUrl((int)$this->storeManager->getStore()->getId()));
        if ($origin !== null) {
            $defaultPolicies[] = new FetchPolicy('connect-src', false, [$origin]);
        }
        return $defaultPolicies;
    }

    /** scheme://host[:port] of an http(s) URL; null for anything else. */
    public static function origin(string $url): ?string
    {
        $parts = parse_url($url);
        if (!is_array($parts) || !in_array($parts['scheme'] ?? '', ['http', 'https'], true) || empty($parts['host'])) {
            return null;
        }
        return $parts['scheme'] . '://' . $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
    }
}
