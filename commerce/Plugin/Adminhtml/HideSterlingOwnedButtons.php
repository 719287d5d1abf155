<?php
declare(strict_types=1);

namespace OmsBridge\Connector\Plugin\Adminhtml;

use Magento\Backend\Block\Widget\Container;
use Magento\Framework\View\LayoutInterface;
use OmsBridge\Connector\Model\Config;

/**
 * Removes Ship / Invoice / Credit Memo from the order and invoice pages when Sterling owns them.
 * The buttons are added in the block's constructor and rendered from the layout, so removing them
 * just before the block joins the layout is enough.
 */
class HideSterlingOwnedButtons
{
    public function __construct(private readonly Config $config)
    {
    }

    /**
     * @return array{0: LayoutInterface}
     */
    public function beforeSetLayout(Container $subject, LayoutInterface $layout): array
    {
        foreach ($this->config->lockedButtons() as $buttonId) {
            $subject->removeButton($buttonId);
        }
        return [$layout];
    }
}
