/// A case as one FHIR R4 `Bundle` of type `collection`, written as a stream so that a case
/// with a long log never has to be held whole.
///
/// What the bundle holds:
/// - the case: `Patient` (name, MRN), `EpisodeOfCare` (the case itself), `Coverage` (the
///   payer), one resource per participant (`Practitioner` for case managers and PPA,
///   `RelatedPerson` for family, `Organization` for payer officers; a patient participant is the
///   `Patient`), the `CareTeam` of them all, and the care plan: a `CarePlan` with one `Task`
///   per milestone;
/// - every message as it stands now, as a `Communication` (a redacted one with no payload
///   and the status `entered-in-error`);
/// - every log entry as an `AuditEvent` that keeps its place in the hash chain: `seq`,
///   `parent_seq`, `hash`, `prev_hash`, and the exact canonical JSON the hash covers (base64),
///   so the chain can be checked from the export alone;
/// - a `Device` for the hub, and one per admin token that acted on the case.
///
/// References are `urn:uuid:` full URLs. Resources without a UUID of their own get one derived
/// from the case id, so exporting a case twice gives the same ids.
public struct FHIRCaseBundle {
    let hubCase: Case
    let participants: [Participant]
    let milestones: [Milestone]
    let policy: AccessPolicy
    let timestamp: String

    /// The full URL each actor id is referred to by: participants and the hub.
    private var actorURLs: [String: String] = [:]
    /// Entries written so far, to place the commas.
    private var written = 0

    public init(case hubCase: Case, participants: [Participant], milestones: [Milestone], policy: AccessPolicy, timestamp: String) {
        self.hubCase = hubCase
        self.participants = participants
        self.milestones = milestones
        self.policy = policy
        self.timestamp = timestamp
        for participant in participants {
            actorURLs[participant.id] = participant.role == .patient ? patientURL : url(ofId: participant.id)
        }
        actorURLs[Actor.hub.id] = hubDeviceURL
    }

    /// The bundle's opening and the resources of the case itself.
    public mutating func open(into out: inout [UInt8]) {
        out.append(contentsOf: #"{"entry":["#.utf8)
        for resource in caseResources() { append(resource, into: &out) }
    }

    /// The bundle's end: written once, after every message and log entry.
    public func close(into out: inout [UInt8]) {
        out.append(contentsOf: #"],"resourceType":"Bundle","#.utf8)
        out.append(contentsOf: #""timestamp":"#.utf8)
        JSONValue.string(timestamp).write(into: &out)
        out.append(contentsOf: #","type":"collection"}"#.utf8)
    }

    /// A resource and the full URL it is referred to by.
    struct Resource {
        let fullURL: String
        let json: JSONValue
    }

    mutating func append(_ resource: Resource, into out: inout [UInt8]) {
        if written > 0 { out.append(UInt8(ascii: ",")) }
        written += 1
        JSONValue.object(["fullUrl": .string(resource.fullURL), "resource": resource.json]).write(into: &out)
    }

    /// A resource of `type` whose id is the UUID of `fullURL`.
    static func resource(_ type: String, _ fullURL: String, _ members: [String: JSONValue]) -> Resource {
        var members = members
        members["resourceType"] = .string(type)
        members["id"] = .string(String(fullURL.dropFirst("urn:uuid:".count)))
        return Resource(fullURL: fullURL, json: .object(members))
    }

    // MARK: - Full URLs

    /// The full URL of a hub id: its own UUID, or one derived from it when it has another shape.
    func url(ofId id: String) -> String {
        "urn:uuid:" + (Identifier.isWellFormed(id) ? id : FHIR.derivedId("id/\(id)", scope: hubCase.id))
    }

    func derivedURL(_ name: String) -> String { "urn:uuid:" + FHIR.derivedId(name, scope: hubCase.id) }

    var patientURL: String { derivedURL("patient") }
    var episodeURL: String { url(ofId: hubCase.id) }
    var coverageURL: String { derivedURL("coverage") }
    var careTeamURL: String { derivedURL("care-team") }
    var carePlanURL: String { derivedURL("care-plan") }
    var hubDeviceURL: String { derivedURL("device/casehub") }

    /// The full URL an actor of the log is referred to by; nil for an admin token not seen yet.
    func knownActorURL(_ id: String) -> String? { actorURLs[id] }

    mutating func remember(actor id: String, as fullURL: String) { actorURLs[id] = fullURL }
}
