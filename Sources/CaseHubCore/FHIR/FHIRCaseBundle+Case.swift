/// The resources of the case itself: who the patient is, the episode of care, the payer, the
/// people taking part, and the care plan.
extension FHIRCaseBundle {
    func caseResources() -> [Resource] {
        var resources = [patient(), episodeOfCare()]
        if let coverage = coverage() { resources.append(coverage) }
        resources += participants.filter { $0.role != .patient }.map(participantResource)
        resources.append(careTeam())
        resources.append(hubDevice())
        if !milestones.isEmpty {
            resources.append(carePlan())
            resources += milestones.map(task)
        }
        return resources
    }

    private var isOpen: Bool { hubCase.status == .open }

    private func patient() -> Resource {
        let mrn = JSONValue.object([
            "use": .string("usual"), "value": .string(hubCase.mrn),
            "type": FHIR.concept(FHIR.System.identifierType, "MR", display: "Medical record number", text: "MRN"),
        ])
        var members: [String: JSONValue] = ["identifier": .array([mrn])]
        if let name = FHIR.nonEmpty(hubCase.patient["name"]?.stringValue) { members["name"] = FHIR.name(name) }
        // A patient who takes part in the case is this Patient: their address and language.
        let asParticipants = participants.filter { $0.role == .patient }
        if let telecom = FHIR.emails(asParticipants.map(\.email)) { members["telecom"] = telecom }
        if let locale = asParticipants.first?.locale {
            members["communication"] = .array([.object(["language": FHIR.language(locale), "preferred": .bool(true)])])
        }
        return Self.resource("Patient", patientURL, members)
    }

    private func episodeOfCare() -> Resource {
        var period: [String: JSONValue] = ["start": .string(hubCase.createdAt)]
        if let closedAt = hubCase.closedAt { period["end"] = .string(closedAt) }
        var members: [String: JSONValue] = [
            "identifier": .array([FHIR.identifier(FHIR.System.caseId, hubCase.id)]),
            "status": .string(isOpen ? "active" : "finished"),
            "type": .array([.object(["text": .string("Case management")])]),
            "patient": FHIR.reference(patientURL, display: hubCase.patient["name"]?.stringValue),
            "period": .object(period),
            "team": .array([FHIR.reference(careTeamURL)]),
        ]
        if let manager = participants.first(where: { $0.role == .caseManager && $0.removedAt == nil }) {
            members["careManager"] = FHIR.reference(url(ofId: manager.id), display: manager.name)
        }
        return Self.resource("EpisodeOfCare", episodeURL, members)
    }

    private func coverage() -> Resource? {
        guard let name = FHIR.nonEmpty(hubCase.payer["name"]?.stringValue) else { return nil }
        var members: [String: JSONValue] = [
            // Closing the case does not end the patient's insurance.
            "status": .string("active"),
            "beneficiary": FHIR.reference(patientURL),
            "payor": .array([.object(["display": .string(name)])]),
        ]
        if let member = FHIR.nonEmpty(hubCase.payer["member_id"]?.stringValue) { members["subscriberId"] = .string(member) }
        return Self.resource("Coverage", coverageURL, members)
    }

    /// A case manager or PPA is a `Practitioner`, a family member a `RelatedPerson`, a payer
    /// officer an `Organization` of type payer.
    private func participantResource(_ participant: Participant) -> Resource {
        var members: [String: JSONValue] = [
            "identifier": .array([FHIR.identifier(FHIR.System.participantId, participant.id)]),
            "active": .bool(participant.removedAt == nil),
        ]
        if let telecom = FHIR.emails([participant.email]) { members["telecom"] = telecom }
        let fullURL = url(ofId: participant.id)
        switch participant.role {
        case .family:
            members["patient"] = FHIR.reference(patientURL)
            members["relationship"] = .array([FHIR.concept(FHIR.System.roleCode, "FAMMEMB", display: "family member")])
            members["name"] = FHIR.name(participant.name)
            members["communication"] = .array([.object(["language": FHIR.language(participant.locale), "preferred": .bool(true)])])
            return Self.resource("RelatedPerson", fullURL, members)
        case .payer:
            members["type"] = .array([FHIR.concept(FHIR.System.organizationType, "pay", display: "Payer")])
            members["name"] = .string(participant.name)
            return Self.resource("Organization", fullURL, members)
        case .caseManager, .ppa, .patient, .admin:
            members["name"] = FHIR.name(participant.name)
            members["communication"] = .array([FHIR.language(participant.locale)])
            return Self.resource("Practitioner", fullURL, members)
        }
    }

    private func careTeam() -> Resource {
        let members = participants.map { participant -> JSONValue in
            var period: [String: JSONValue] = ["start": .string(participant.createdAt)]
            if let removedAt = participant.removedAt { period["end"] = .string(removedAt) }
            return .object([
                "role": .array([FHIR.concept(FHIR.System.role, participant.role.rawValue)]),
                "member": FHIR.reference(knownActorURL(participant.id) ?? url(ofId: participant.id), display: participant.name),
                "period": .object(period),
            ])
        }
        var resource: [String: JSONValue] = [
            "status": .string(isOpen ? "active" : "inactive"),
            "name": .string("Case \(hubCase.mrn)"),
            "subject": FHIR.reference(patientURL),
        ]
        if !members.isEmpty { resource["participant"] = .array(members) }
        return Self.resource("CareTeam", careTeamURL, resource)
    }

    private func hubDevice() -> Resource {
        Self.resource(
            "Device", hubDeviceURL,
            [
                "deviceName": .array([.object(["name": .string("CaseHub"), "type": .string("user-friendly-name")])]),
                "type": .object(["text": .string("Case coordination hub")]),
            ])
    }

    private func carePlan() -> Resource {
        var period: [String: JSONValue] = ["start": .string(hubCase.createdAt)]
        if let closedAt = hubCase.closedAt { period["end"] = .string(closedAt) }
        return Self.resource(
            "CarePlan", carePlanURL,
            [
                "status": .string(isOpen ? "active" : "completed"),
                "intent": .string("plan"),
                "title": .string("Care plan"),
                "subject": FHIR.reference(patientURL),
                "period": .object(period),
                "careTeam": .array([FHIR.reference(careTeamURL)]),
                "activity": .array(milestones.map { .object(["reference": FHIR.reference(url(ofId: $0.id), display: $0.title)]) }),
            ])
    }

    /// A milestone as a `Task`: planned, due and overdue are `requested` (the business status
    /// says which), done is `completed`, cancelled is `cancelled`.
    private func task(_ milestone: Milestone) -> Resource {
        let status: String
        switch milestone.status {
        case .planned, .due, .overdue: status = "requested"
        case .done: status = "completed"
        case .cancelled: status = "cancelled"
        }
        var members: [String: JSONValue] = [
            "identifier": .array([FHIR.identifier(FHIR.System.milestoneId, milestone.id)]),
            "basedOn": .array([FHIR.reference(carePlanURL)]),
            "status": .string(status),
            "businessStatus": FHIR.concept(FHIR.System.milestoneStatus, milestone.status.rawValue),
            "intent": .string("plan"),
            "code": FHIR.concept(FHIR.System.milestoneKind, milestone.kind.rawValue),
            "description": .string(milestone.title),
            "for": FHIR.reference(patientURL),
            "authoredOn": .string(milestone.createdAt),
            "restriction": .object(["period": .object(["end": .string(milestone.dueAt)])]),
        ]
        if let completedAt = milestone.completedAt {
            members["executionPeriod"] = .object(["end": .string(completedAt)])
            members["lastModified"] = .string(completedAt)
        }
        let extensions =
            milestone.audience.map { FHIR.extensionValue(FHIR.Extension.audience, "Code", .string($0.rawValue)) }
            + milestone.reminders.map { FHIR.extensionValue(FHIR.Extension.reminder, "String", .string($0.text)) }
        if !extensions.isEmpty { members["extension"] = .array(extensions) }
        return Self.resource("Task", url(ofId: milestone.id), members)
    }
}
