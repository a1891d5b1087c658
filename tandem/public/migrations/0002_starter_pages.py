"""The public site's starter pages, written for Tandem in our own words.

The text is written out here rather than imported from app code, so that this migration keeps working
however the app changes later. The clinic edits it in the set-up admin; loading again never overwrites
a page the clinic has changed, and unloading removes only pages still exactly as loaded.
"""

from django.db import migrations

# slug, nav label, nav order, title, summary, body
PAGES = [
    (
        "home",
        "",
        0,
        "Help for couples and for your sex life, in plain words",
        "We help couples and individuals with relationship and sexual difficulties. "
        "The first conversation is free and takes twenty minutes.",
        """Many people wait years before asking for help with their relationship or their sex life. That is
understandable: it can feel private, embarrassing or hopeless. It is also very common, and it is
usually treatable.

We are a practice of therapists trained in couples therapy and sex therapy. We see couples together,
and we also see people whose partner cannot or does not want to come.

## How to start
- Read what really happens in therapy: it is talk therapy, and nothing sexual happens in our rooms.
- Book a free 20-minute consultation by phone or video, at a time that suits you.
- In that conversation you tell us as much or as little as you like, and we tell you honestly whether
  and how we can help.

You do not need a referral for the free consultation, and booking it commits you to nothing.""",
    ),
    (
        "therapy",
        "What happens in therapy",
        10,
        "What happens in couples and sex therapy",
        "It is talk therapy. Your therapist takes no side, and no sexual activity ever takes place in a session.",
        """Many people arrive with worries about what sex therapy involves. Here is what actually happens.

## It is a conversation
Sessions are conversations in a quiet room, or by video. You stay fully dressed, and nothing sexual
happens in the session, ever. There is no physical examination by the therapist. If a medical cause is
possible, we refer you to a doctor, who examines you in the usual way.

## Your therapist takes no side
In couples work the relationship is what we treat. Your therapist does not decide who is right, does
not keep score, and does not side with the partner who talks most or who booked the appointment.

## Most of the work happens at home
Between sessions you get exercises to do at home, in private: for example ways of talking and listening,
reading, or step-by-step touching exercises that take the pressure off. You decide together when to do
them. The next session starts from how it went, including when it did not go well.

## You stay in charge
You choose what to talk about and when. You can ask why we suggest something, say no to an exercise,
pause, or stop therapy at any time.""",
    ),
    (
        "formats",
        "Intensive or weekly",
        20,
        "Two ways to work with us: intensive or weekly",
        "After the assessment you choose, with your therapist, the format that fits your life.",
        """## Intensive format
For ten days, the two of you meet a co-therapy team of two therapists (usually one woman and one man)
for up to two hours a day. The rest of the day is yours, often for the exercises you take home. Many
couples take time off work for it, so that they can concentrate on each other with few distractions.

- Up to two hours a day, for ten consecutive clinic days
- Two therapists work with you together
- Follow-up appointments afterwards to keep what you gained

## Weekly format
You meet your therapist once or twice a week, for as long as you need. This fits people who cannot
take time away, or whose difficulties are best worked on gradually.

- One or two sessions a week
- The same therapist throughout
- Sometimes one partner also has some individual sessions alongside the couple sessions

Both formats use the same approach and the same home exercises. Your therapist will tell you honestly
which one they would advise, and why.""",
    ),
    (
        "assessment",
        "Assessment and follow-up",
        30,
        "Assessment first, follow-up afterwards",
        "We take time to understand the problem before treating it, and we stay in touch after treatment ends.",
        """## The assessment
Treatment starts with an assessment. First you come together for a longer conversation about what is
going on and what you hope for. Then each partner has one individual session, so that each of you can
say things in your own words.

We look at both psychological and physical sides. When a physical cause is possible, we refer you to a
medical specialist, such as a urologist, gynaecologist or endocrinologist, and wait for their findings
before we plan treatment with you.

## Follow-up
After treatment we keep in touch for several months, with short visits or telephone calls, whichever
suits you. Old patterns can come back under stress; follow-up helps you keep what you gained.""",
    ),
    (
        "concerns",
        "What we help with",
        40,
        "What we help with",
        "These difficulties are common. Most of them can be treated.",
        """People come to us with, among other things:

- Little or no desire for sex, or a difference in desire between partners
- Difficulty getting or keeping an erection
- Coming too quickly
- Little response to sexual touch, or difficulty reaching orgasm
- Pain during sex
- Low confidence about sex, or fear and avoidance of sex
- Distance, arguments or lost closeness in the relationship

Surveys find that a large share of adults have some sexual difficulty at some point in their lives:
you are far from alone. If your concern is not on this list, ask us in the free consultation.""",
    ),
    (
        "fees",
        "Fees",
        50,
        "Fees",
        "The first 20-minute consultation is free.",
        """## The free consultation
The first conversation of twenty minutes, by phone or video, is free and commits you to nothing.

## Assessment and treatment
We tell you the fees for the assessment and for each format before you decide anything, and we put
them in writing. Ask us whether your insurance covers part of the cost: this differs from policy to
policy.

## Cancelling
If you cannot come, please let us know at least a day before. The link in your confirmation e-mail lets
you cancel or move the free consultation yourself.""",
    ),
    (
        "privacy",
        "Privacy",
        60,
        "Privacy notice",
        "What we keep about you, why, and who can see it.",
        """## When you book the free consultation
We keep the name and the e-mail address or phone number you give us, the time you chose, and the short
reason if you wrote one. We use them only to hold the conversation and to contact you about it. The
confirmation e-mail contains the time and a link, never the reason you gave.

## If you become a client
Your record is kept confidential and is seen only by the people at the practice who need it for your
care. Your therapist's notes are not shared with anyone outside the practice without your consent,
except where the law requires it. Each partner's individual sessions follow the confidentiality
agreement you make with your therapist at the start.

## What this website does not do
This website uses no advertising, no tracking and no analytics, and loads nothing from other
companies. It sets only the cookies it needs to work (for example to protect the forms).

## Your rights
You may ask to see, correct or delete what we keep about you. If you booked a consultation and then
decided not to go ahead, you can ask us to delete your details.""",
    ),
    (
        "faq",
        "Questions",
        70,
        "Frequently asked questions",
        "",
        """## Do we both have to come?
It helps when both partners come, but it is not required. We also work with people whose partner
cannot or does not want to attend, and a partner can join later.

## Will I have to do anything sexual in the session?
No. Sessions are conversations. Nothing sexual happens in the session and you stay dressed.

## Will the therapist take my partner's side?
No. The therapist takes no side: the relationship is what we work on together.

## What are the home exercises?
Private exercises for you to do at home when it suits you: ways of talking and listening, reading, and
gentle step-by-step touching exercises. You can always say no to an exercise.

## How long does it take?
The intensive format takes ten days plus follow-up. Weekly therapy usually takes a few months. We
discuss this after the assessment.

## Is what I tell you confidential?
Yes. See our privacy notice for who can see what.""",
    ),
    (
        "therapists",
        "Our therapists",
        80,
        "Our therapists",
        "Everyone who sees clients here is a trained couples and sex therapist.",
        """Our therapists work alone in weekly therapy and in pairs in the intensive format. You can say in
the free consultation whether you would prefer a woman or a man as your therapist.""",
    ),
    (
        "contact",
        "Contact",
        90,
        "Contact us",
        "A question before you book? Send us a short message and we reply within two working days.",
        """Please do not send medical details in this form: we will ask what we need when we speak.
If you are in crisis, call your doctor or the emergency number.""",
    ),
    (
        "consultation",
        "",
        5,
        "Book a free 20-minute consultation",
        "By phone or video, with one of our therapists. It is free and commits you to nothing.",
        """Choose a time below. We only need your name and one way to reach you. You can tell us in a
sentence what it is about, or keep that for the conversation.""",
    ),
]


def load(apps, schema_editor):
    PublicPage = apps.get_model("public", "PublicPage")
    for slug, nav_label, nav_order, title, summary, body in PAGES:
        PublicPage.objects.get_or_create(
            slug=slug,
            defaults={
                "nav_label": nav_label,
                "nav_order": nav_order,
                "title": title,
                "summary": summary,
                "body": body,
            },
        )


def unload(apps, schema_editor):
    PublicPage = apps.get_model("public", "PublicPage")
    for slug, _nav_label, _nav_order, title, _summary, body in PAGES:
        PublicPage.objects.filter(slug=slug, title=title, body=body).delete()


class Migration(migrations.Migration):
    dependencies = [("public", "0001_public_pages_requests_messages")]

    operations = [migrations.RunPython(load, unload)]
