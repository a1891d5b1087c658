"""The starter exercise library, written for Tandem in our own words.

The data is written out here rather than imported from app code, so that this migration keeps working
however the app changes later. The clinic edits or retires these in the set-up admin; unloading removes
only exercises that no assignment uses.
"""

from django.db import migrations

# slug, title, category, audience, times per week, minutes, stage, summary, instructions
EXERCISES = [
    (
        "sensate-focus-1",
        "Sensate focus, stage 1: non-genital touch",
        "sensate_focus",
        "couple",
        3,
        30,
        1,
        "Taking turns to touch and be touched, away from the breasts and genitals, with no goal.",
        """Set aside about half an hour when you will not be disturbed, somewhere warm and private.

Take turns. One of you touches, the other receives; after about fifteen minutes you swap. The person
touching explores the partner's body for their own interest: the back, arms, hands, face, legs and feet.
Breasts and genitals are not part of this stage, and neither is intercourse or orgasm — we have agreed
that in advance, so there is nothing to achieve and nothing to fail at.

The person receiving notices the sensations: warmth, pressure, texture. If anything is unpleasant, say so
or guide the hand away without a word. Otherwise there is no need to talk.

If your thoughts drift to how you are doing, gently bring your attention back to the touch itself.
Afterwards, note for yourself what you noticed and what got in the way. Bring it to your next session.""",
    ),
    (
        "sensate-focus-2",
        "Sensate focus, stage 2: touch including breasts and genitals, without pressure to perform",
        "sensate_focus",
        "couple",
        3,
        30,
        2,
        "As in stage 1, now including breasts and genitals — still no aim of arousal, orgasm or intercourse.",
        """Begin as in stage 1, with a few minutes of touch over the whole body, taking turns.

Now the breasts and genitals may be included, as one more part of the body to explore, not as a place
to arrive at. Arousal may come and go; that is expected and asks for nothing. Intercourse and orgasm are
still off the table for this stage, which is what lets both of you stay curious rather than watchful.

The person receiving may place their hand over the partner's hand to show a pressure, pace or place they
enjoy. The person touching follows, without asking for a verdict.

Keep returning to what you can feel in this moment. Note afterwards what was pleasant, what was difficult
and any worry that came up.""",
    ),
    (
        "sensate-focus-3",
        "Sensate focus, stage 3: mutual touch",
        "sensate_focus",
        "couple",
        3,
        40,
        3,
        "Touching each other at the same time, letting arousal come and go, still without a goal.",
        """Start with turn-taking as in the earlier stages, then move to touching each other at the same time.

Mutual touch is more complex: you are giving and receiving at once. Let your attention rest on your own
sensations rather than on your partner's reactions. If arousal builds, let it; if it fades, keep touching
and notice that it can return. Intercourse is still not part of this stage.

Either of you can pause at any time, return to turn-taking, or simply lie together. Talk afterwards —
briefly and kindly — about what you each enjoyed.""",
    ),
    (
        "sensate-focus-4",
        "Sensate focus, stage 4: containment without movement",
        "sensate_focus",
        "couple",
        2,
        40,
        4,
        "After unhurried mutual touch, penetration with stillness, then as little or as much movement as is "
        "comfortable.",
        """Only begin this stage when your therapist has discussed it with you both.

Start with mutual touch as in stage 3, without hurry. When both of you feel relaxed and ready, the
partner who is receiving guides penetration, in a position you have agreed in the session. Then stay still
together, noticing the sensation of closeness and containment, for as long as is comfortable.

If either partner wants to stop, you stop; return to touching, or rest. In later sessions, and only if
it feels good to you both, slow movement can be added. Orgasm is welcome but is not the aim.

Afterwards, note what it was like for you, including anything that was uncomfortable or worrying.""",
    ),
    (
        "speaker-listener",
        "Speaker and listener",
        "communication",
        "couple",
        2,
        20,
        None,
        "A structured way to talk about a sensitive subject: one speaks, the other reflects back.",
        """Choose a small topic to start with, not the biggest issue between you. Sit facing each other.

One of you is the speaker and holds an object (a pen, a cup) as the "floor". The speaker talks about
their own feelings and wishes, in short pieces, using "I" rather than "you always...".

The listener does not argue, defend or solve. After each piece, they repeat in their own words what they
heard ("So you felt...") until the speaker says "yes, that's it". Then the floor passes over.

Stop after about twenty minutes, even if the topic is not settled. Agreement is not the goal;
understanding each other is.""",
    ),
    (
        "appreciation-exchange",
        "Appreciation exchange",
        "communication",
        "couple",
        5,
        10,
        None,
        "Each day, tell your partner one specific thing you appreciated about them.",
        """Once a day, each of you tells the other one specific thing you appreciated that day — something they
did, said or are. Be concrete: "I liked that you made tea when I came home late" works better than
"you're nice".

The partner receiving simply says thank you. No "yes, but", no comment on whether it was deserved.

It may feel artificial at first; that usually passes after a few days.""",
    ),
    (
        "scheduled-intimacy-time",
        "Scheduled time for intimacy",
        "scheduling",
        "couple",
        2,
        45,
        None,
        "Put time for closeness in your calendars, protect it, and agree on what it is (and is not) for.",
        """Together, choose two times this week for closeness and write them in both your calendars, as you
would an appointment you would not cancel lightly.

Agree beforehand what the time is for: it might be a walk, a bath, cuddling, an exercise your therapist
gave you, or simply being together without phones. Sex is not expected unless you both choose it.

If one of you is not up to it when the time comes, say so kindly and agree on another moment rather than
dropping it. Notice what helped you protect the time, and what competed with it.""",
    ),
    (
        "arousal-awareness",
        "Arousal awareness",
        "individual",
        "individual",
        3,
        20,
        None,
        "Private time on your own to notice what you feel and what helps you feel it.",
        """Set aside some private time when you will not be disturbed.

Start by relaxing: a few slow breaths, loosening your shoulders and jaw. Then explore touch on your own
body at your own pace, noticing which kinds of touch, pressure and rhythm feel pleasant and how your body
responds. You are learning about yourself; there is no target to reach.

If you notice tension, worry or judgement, notice it without arguing with it and return to the
sensations. Afterwards, write down one or two things you learned. You do not have to share the details
with anyone, including your partner.""",
    ),
    (
        "pelvic-floor-relaxation",
        "Pelvic floor relaxation",
        "individual",
        "individual",
        7,
        10,
        None,
        "A short daily practice of breathing and letting the pelvic floor muscles soften.",
        """Lie on your back with your knees bent and supported, or sit comfortably.

Breathe in slowly through your nose and let your belly rise; as you do, imagine the area between your
sit bones widening and softening. Breathe out gently through your mouth and let the muscles settle.
There is no squeezing in this exercise — the aim is letting go.

Continue for about ten minutes. If you notice holding or bracing, simply notice it and let the next
breath soften it. If you feel pain, stop and mention it at your next session.""",
    ),
    (
        "reading-sexual-response",
        "Reading: how sexual response works",
        "reading",
        "either",
        None,
        20,
        None,
        "A short reading on desire, arousal and why pressure to perform gets in the way.",
        """Sexual response is not a switch. Desire can come first, or it can follow arousal that starts with
closeness, touch or a relaxed mood. Both are normal, and both can vary from day to day and over a
relationship.

Arousal depends on feeling safe and unhurried. Worry about "performing" — getting an erection, becoming
wet, reaching orgasm, or how long things last — shifts attention from sensation to self-watching, and
that makes the response harder. Many difficulties are kept going by this loop of worry and watching.

The exercises in your programme are designed to break that loop: they remove goals for a while, so that
attention can return to what is actually felt. Read this once on your own, then talk together about one
thing that rang true for you.""",
    ),
    (
        "reading-what-therapy-is",
        "Reading: what happens in sex therapy",
        "reading",
        "either",
        None,
        15,
        None,
        "What sessions are like, what is asked of you, and what is never part of therapy.",
        """Sessions are conversations. Your therapist will ask about your relationship, your history and what you
would like to change, and will suggest exercises for you to do at home in private.

Nothing sexual happens in the therapy room, and nobody undresses. Your therapist does not take sides
between partners: the relationship is what is being helped.

Progress usually comes from the work between sessions. It is normal for exercises to feel awkward at
first, and it is useful to report honestly when something did not happen or did not go well — that is
information, not failure.""",
    ),
]

NEXT_STAGE = {
    "sensate-focus-1": "sensate-focus-2",
    "sensate-focus-2": "sensate-focus-3",
    "sensate-focus-3": "sensate-focus-4",
}


def load(apps, schema_editor):
    Exercise = apps.get_model("homework", "Exercise")
    by_slug = {}
    for order, (slug, title, category, audience, per_week, minutes, stage, summary, text) in enumerate(EXERCISES):
        by_slug[slug], _ = Exercise.objects.update_or_create(
            slug=slug,
            defaults={
                "title": title,
                "category": category,
                "audience": audience,
                "times_per_week": per_week,
                "minutes": minutes,
                "stage": stage,
                "summary": summary,
                "instructions": text.strip(),
                "sort_order": order * 10,
            },
        )
    for slug, next_slug in NEXT_STAGE.items():
        Exercise.objects.filter(pk=by_slug[slug].pk).update(next_stage=by_slug[next_slug])


def unload(apps, schema_editor):
    Exercise = apps.get_model("homework", "Exercise")
    slugs = [e[0] for e in EXERCISES]
    Exercise.objects.filter(slug__in=slugs).update(next_stage=None)
    Exercise.objects.filter(slug__in=slugs, assignments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("homework", "0001_exercises_assignments_logs")]

    operations = [migrations.RunPython(load, unload)]
