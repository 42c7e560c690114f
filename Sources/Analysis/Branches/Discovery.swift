import GraphIR

/// A branch: the module subtrees that compute one head. Its name is the subtree with the most ops (a
/// valid `--branch` prefix); the other members are the head's own siblings (its classifier, its pooling
/// module) that only it reaches its results through.
public struct Branch: Hashable, Sendable {
    public var name: String
    public var prefixes: [String]

    public init(name: String, prefixes: [String]? = nil) {
        self.name = name
        self.prefixes = prefixes ?? [name]
    }
}

/// How the branches were found, for the report: so a wrong pick is visible and `--branch` is one
/// copy-paste away.
public struct Discovery: Sendable {
    public var branches: [Branch]
    /// The module whose children the branches are ("" for the model itself).
    public var parent: String?
    /// How many separate results (terminals) the model's outputs come from.
    public var terminals: Int
    /// Children of `parent` that feed several heads: the trunk at that level.
    public var trunk: [String]
    /// Other levels of the module tree that would also have given two or more branches.
    public var alternatives: [[String]]
    /// Levels whose children reach the same results one for one as the branches do, joined to them (a
    /// multi-gate mixture's `gates.i` with `towers.i`: task i is both).
    public var paired: [String] = []
    /// A level passed over because its parts feed one another while another level splits the same results
    /// into parts that do not: the stages of a pipeline (named so a user who meant them as heads can say so).
    public var stages: [String] = []
    /// Branches found at another level than `parent`, with theirs: a head that alone reaches a result the
    /// others do not (DETR for segmentation: the mask head beside the detector whose class and box heads
    /// are the split).
    public var elsewhere: [(branch: String, parent: String)] = []
    /// Branches that stand for several heads only because the model has more separate results than
    /// discovery tells apart (`Terminals.capacity`): the 64th result on share one mark, so their heads are
    /// grouped into one branch and what lies between them is not compared.
    public var lumped: [Int] = []
    /// Set when the model's results gave no heads and the branches are towers (`Towers`): per branch, the
    /// position of the model input it computes from (the same for towers fed parts of one input).
    public var towerInputs: [Int] = []
    /// Set when the branches are towers and one's returned result is read where they meet, beside a tower
    /// that returns nothing of its own: no verdict (see `TowerResultRead`).
    public var towerResultRead: TowerResultRead?
    /// Set when the model's results gave no heads and the branches are slots of one container of which only
    /// some ran (`self.heads[task](t)`: the forward calls one per input), taken because a slot that did not
    /// run shares storage with one that did: that much is a fact of the model whichever slot runs.
    public var routed = false

    public var names: [String] { branches.map(\.name) }
    /// The lumped branches by name.
    public var lumpedNames: [String] { lumped.map { branches[$0].name } }

    /// The level a branch was found at when it is not `parent`'s.
    public func otherLevel(of branch: String) -> String? { elsewhere.first { $0.branch == branch }?.parent }
}

/// A tower's returned result read where the towers meet, beside a tower that returns nothing of its own:
/// `item_head(item_encoder(b) + text_head(text_encoder(a)).mean())` returning both heads' outputs. Either
/// `item_head` is the item tower's head and reads the text tower's result (the leak), or it is a fusion
/// meant to read it (a late fusion; OWL-ViT's class head reading the text tower's returned embeddings):
/// the graph does not say which. So for the features of a tower with a result of its own (`result` false):
/// `answer_head(question_encoder(q) + image_encoder(x))` beside `image_head`, the image encoder a trunk of both
/// heads or the image tower's, read by the question tower's head.
public struct TowerResultRead: Sendable {
    /// The modules of the tower whose returned result (or, with `result` false, what else it computes) is read.
    public var returned: [String]
    /// The towers none of whose values the model returns alone, each by its largest module.
    public var without: [String]
    /// The module whose learned op first computes with what the towers met in (nil: the parent's own op).
    public var reader: String?
    /// The branches that check each tower with a head of its own, as `--branch` takes them (empty when which
    /// tower the reader would end is not clear).
    public var suggested: [[String]]
    /// Whether what is read is the tower's returned result; false: other values of a tower that returns a result
    /// (its encoder's features), read beside a tower returning none.
    public var result = true
    /// The reader is a slot of the container that holds a module of the tower whose result it reads (`heads.1`
    /// beside `heads.0`): a peer of that tower's head, so the other tower's head, not a fusion. The branches are
    /// then `suggested`, and the leak is reported between them.
    public var bySlot = false
}
