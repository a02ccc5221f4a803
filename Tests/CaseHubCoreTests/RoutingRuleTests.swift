import Testing

@testable import CaseHubCore

@Suite("Routing rules")
struct RoutingRuleTests {
    func rule(_ name: String) throws -> RoutingRule {
        try #require(RoutingRule.defaults.first { $0.name == name })
    }

    @Test("A rule with empty lists matches every thread, kind and priority")
    func emptyMatchesAnything() {
        let anything = RoutingRule(name: "all")
        for thread in ThreadName.allCases {
            for kind in Message.Kind.allCases {
                for priority in Message.Priority.allCases {
                    #expect(anything.matches(thread: thread, kind: kind, priority: priority))
                }
            }
        }
    }

    @Test("Each non-empty list must match")
    func everyListMustMatch() {
        let rule = RoutingRule(name: "urgent_ppa_handoffs", threads: [.ppa, .payer], kinds: [.handoff], priorities: [.urgent])
        #expect(rule.matches(thread: .ppa, kind: .handoff, priority: .urgent))
        #expect(rule.matches(thread: .payer, kind: .handoff, priority: .urgent))
        #expect(!rule.matches(thread: .family, kind: .handoff, priority: .urgent))
        #expect(!rule.matches(thread: .ppa, kind: .text, priority: .urgent))
        #expect(!rule.matches(thread: .ppa, kind: .handoff, priority: .routine))

        let urgentOnly = RoutingRule(name: "urgent", priorities: [.urgent])
        #expect(urgentOnly.matches(thread: .patient, kind: .education, priority: .urgent))
        #expect(!urgentOnly.matches(thread: .patient, kind: .education, priority: .routine))
    }

    @Test("A new rule changes nothing unless told to")
    func initDefaults() {
        let rule = RoutingRule(name: "quiet")
        #expect(rule.threads.isEmpty && rule.kinds.isEmpty && rule.priorities.isEmpty)
        #expect(rule.relayTo.isEmpty && rule.notify.isEmpty && !rule.requireAck)
    }

    @Test("Five rules ship, in this order")
    func shippedNamesAndOrder() {
        #expect(
            RoutingRule.defaults.map(\.name) == [
                "authorization_request_to_payer", "authorization_decision_to_ppa", "handoff_to_ppa", "education_to_family", "new_message_email",
            ])
        #expect(Set(RoutingRule.defaults.map(\.name)).count == RoutingRule.defaults.count)
    }

    @Test("Authorization requests from ppa or patient are relayed to payer, and payer's webhooks are called")
    func authorizationRequestRule() throws {
        let rule = try rule("authorization_request_to_payer")
        #expect(rule.threads == [.ppa, .patient])
        #expect(rule.kinds == [.authorizationRequest])
        #expect(rule.priorities.isEmpty)
        #expect(rule.relayTo == [.payer])
        #expect(!rule.requireAck)
        #expect(rule.notify == [RoutingRule.Notification(channel: .webhook, roles: [.payer])])
        #expect(rule.matches(thread: .ppa, kind: .authorizationRequest, priority: .urgent))
        #expect(rule.matches(thread: .patient, kind: .authorizationRequest, priority: .routine))
        #expect(!rule.matches(thread: .family, kind: .authorizationRequest, priority: .routine))
        #expect(!rule.matches(thread: .ppa, kind: .text, priority: .routine))
    }

    @Test("Authorization decisions in payer are relayed to ppa")
    func authorizationDecisionRule() throws {
        let rule = try rule("authorization_decision_to_ppa")
        #expect(rule.threads == [.payer])
        #expect(rule.kinds == [.authorizationDecision])
        #expect(rule.priorities.isEmpty)
        #expect(rule.relayTo == [.ppa])
        #expect(!rule.requireAck)
        #expect(rule.notify.isEmpty)
    }

    @Test("Handoffs in ppa require acknowledgement and call ppa's webhooks")
    func handoffRule() throws {
        let rule = try rule("handoff_to_ppa")
        #expect(rule.threads == [.ppa])
        #expect(rule.kinds == [.handoff])
        #expect(rule.priorities.isEmpty)
        #expect(rule.relayTo.isEmpty)
        #expect(rule.requireAck)
        #expect(rule.notify == [RoutingRule.Notification(channel: .webhook, roles: [.ppa])])
    }

    @Test("Education in family e-mails family")
    func educationRule() throws {
        let rule = try rule("education_to_family")
        #expect(rule.threads == [.family])
        #expect(rule.kinds == [.education])
        #expect(rule.priorities.isEmpty)
        #expect(rule.relayTo.isEmpty)
        #expect(!rule.requireAck)
        #expect(rule.notify == [RoutingRule.Notification(channel: .email, roles: [.family])])
    }

    @Test("Any message in family or patient e-mails family and patient participants")
    func newMessageEmailRule() throws {
        let rule = try rule("new_message_email")
        #expect(rule.threads == [.family, .patient])
        #expect(rule.kinds.isEmpty)
        #expect(rule.priorities.isEmpty)
        #expect(rule.relayTo.isEmpty)
        #expect(!rule.requireAck)
        #expect(rule.notify == [RoutingRule.Notification(channel: .email, roles: [.family, .patient])])
        #expect(!rule.matches(thread: .ppa, kind: .text, priority: .routine))
        #expect(!rule.matches(thread: .payer, kind: .text, priority: .urgent))
    }

    @Test("An education message in family is e-mailed by the education rule, which comes first")
    func educationBeforeGeneralEmail() throws {
        let names = RoutingRule.defaults.map(\.name)
        let education = try #require(names.firstIndex(of: "education_to_family"))
        let general = try #require(names.firstIndex(of: "new_message_email"))
        #expect(education < general)
        let firstEmailing = RoutingRule.defaults.first {
            $0.matches(thread: .family, kind: .education, priority: .routine) && $0.notify.contains { $0.channel == .email }
        }
        #expect(firstEmailing?.name == "education_to_family")
    }

    @Test("Which shipped rules a message sets in motion")
    func matchingShippedRules() {
        func matching(_ thread: ThreadName, _ kind: Message.Kind) -> [String] {
            RoutingRule.defaults.filter { $0.matches(thread: thread, kind: kind, priority: .routine) }.map(\.name)
        }
        #expect(matching(.patient, .authorizationRequest) == ["authorization_request_to_payer", "new_message_email"])
        #expect(matching(.payer, .authorizationDecision) == ["authorization_decision_to_ppa"])
        #expect(matching(.ppa, .handoff) == ["handoff_to_ppa"])
        #expect(matching(.family, .education) == ["education_to_family", "new_message_email"])
        #expect(matching(.family, .text) == ["new_message_email"])
        #expect(matching(.ppa, .text).isEmpty)
        #expect(matching(.payer, .authorizationRequest).isEmpty)
    }
}
