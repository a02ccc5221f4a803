/// A patient case: the unit of access, of the log and of the four threads.
public struct Case: Sendable, Equatable {
    public enum Status: String, Sendable { case open, closed }

    public var id: String
    public var mrn: String
    public var patient: JSONValue
    public var payer: JSONValue
    public var status: Status
    public var createdAt: String
    public var closedAt: String?

    public init(id: String, mrn: String, patient: JSONValue, payer: JSONValue, status: Status, createdAt: String, closedAt: String?) {
        self.id = id
        self.mrn = mrn
        self.patient = patient
        self.payer = payer
        self.status = status
        self.createdAt = createdAt
        self.closedAt = closedAt
    }

    public var json: JSONValue {
        .members([
            "closed_at": JSONValue(closedAt), "created_at": .string(createdAt), "id": .string(id), "mrn": .string(mrn),
            "patient": patient, "payer": payer, "status": .string(status.rawValue),
        ])
    }
}

/// What a client sends to open a case, already validated.
public struct NewCase: Sendable {
    public var mrn: String
    public var patient: JSONValue
    public var payer: JSONValue

    public init(mrn: String, patient: JSONValue, payer: JSONValue) {
        self.mrn = mrn
        self.patient = patient
        self.payer = payer
    }
}
