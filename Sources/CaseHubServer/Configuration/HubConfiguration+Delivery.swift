import CaseHubDelivery

extension HubConfiguration {
    /// What the delivery worker needs of the configuration.
    public var deliverySettings: DeliverySettings {
        var settings = DeliverySettings(
            retrySchedule: retrySchedule, allowPrivateNetworks: webhookAllowPrivate, smtpURL: smtpURL, smtpFrom: smtpFrom)
        settings.disableFailingEndpointAfter = endpointDisableAfter
        settings.perEndpointConcurrency = webhookConcurrency
        settings.smtpConcurrency = smtpConcurrency
        return settings
    }
}
