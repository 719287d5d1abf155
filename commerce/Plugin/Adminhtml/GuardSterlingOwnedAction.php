<?php
declare(strict_types=1);

namespace OmsBridge\Connector\Plugin\Adminhtml;

use Magento\Framework\App\ActionInterface;
use Magento\Framework\App\RequestInterface;
use Magento\Framework\Controller\Result\RedirectFactory;
use Magento\Framework\Controller\ResultInterface;
use Magento\Framework\Message\ManagerInterface;
use OmsBridge\Connector\Model\Config;

/**
 * Keeps admin users from creating a shipment, invoice or credit memo that Sterling owns, even from
 * a bookmarked URL: back to the order with a message instead. One class, one virtual type per
 * action (etc/adminhtml/di.xml).
 */
class GuardSterlingOwnedAction
{
    private const MESSAGES = [
        Config::ACTION_SHIP => 'Shipments of this store are created in IBM Sterling Order Management; '
            . 'oms-bridge adds them here when Sterling ships.',
        Config::ACTION_INVOICE => 'Invoices of this store are created through IBM Sterling Order Management.',
        Config::ACTION_CREDITMEMO => 'Credit memos of this store are created through IBM Sterling Order Management.',
    ];

    public function __construct(
        private readonly Config $config,
        private readonly RequestInterface $request,
        private readonly RedirectFactory $redirectFactory,
        private readonly ManagerInterface $messageManager,
        private readonly string $action
    ) {
    }

    /**
     * @return ResultInterface|mixed
     */
    public function aroundExecute(ActionInterface $subject, callable $proceed): mixed
    {
        if (!$this->config->isLocked($this->action)) {
            return $proceed();
        }
        $this->messageManager->addErrorMessage(__(self::MESSAGES[$this->action]));
        $orderId = (int)$this->request->getParam('order_id');
        $redirect = $this->redirectFactory->create();
        return $orderId > 0
            ? $redirect->setPath('sales/order/view', ['order_id' => $orderId])
            : $redirect->setPath('sales/order/index');
    }
}
