-- The accessibility vocabulary is a fixed set: codes are part of the HTTP contract, and the
-- numeric ids are stable forever because the index stores them in arrays (renumbering would
-- silently change every search). Titles may be edited; ids and codes never.
CREATE TABLE accessibility_constraints (
    id       smallint PRIMARY KEY CHECK (id BETWEEN 1 AND 31),
    code     text NOT NULL UNIQUE,
    title_ru text NOT NULL,
    title_en text NOT NULL,
    groups   text[] NOT NULL, -- МГН groups served: К О С Г У
    position smallint NOT NULL UNIQUE
);

INSERT INTO accessibility_constraints (id, code, title_ru, title_en, groups, position) VALUES
    (1,  'step_free_entrance',    'Безбарьерный вход',                       'Step-free entrance',              '{К,О}',     1),
    (2,  'elevator',              'Лифт',                                    'Elevator',                        '{К,О}',     2),
    (3,  'wheelchair_seating',    'Места для зрителей на креслах-колясках',  'Wheelchair seating',              '{К}',       3),
    (4,  'accessible_toilet',     'Доступный туалет',                        'Accessible toilet',               '{К,О}',     4),
    (5,  'accessible_parking',    'Парковка для инвалидов',                  'Accessible parking',              '{К,О}',     5),
    (6,  'companion_seat',        'Место для сопровождающего',               'Companion seat',                  '{К,О,С,У}', 6),
    (7,  'tactile_guidance',      'Тактильная навигация',                    'Tactile guidance',                '{С}',       7),
    (8,  'braille',               'Информация шрифтом Брайля',               'Braille',                         '{С}',       8),
    (9,  'audio_description',     'Тифлокомментирование',                    'Audio description',               '{С}',       9),
    (10, 'tactile_exhibits',      'Тактильные экспонаты',                    'Tactile exhibits',                '{С}',       10),
    (11, 'guide_dog_allowed',     'Можно с собакой-проводником',             'Guide dogs allowed',              '{С}',       11),
    (12, 'sign_language',         'Перевод на русский жестовый язык',        'Sign language interpretation',    '{Г}',       12),
    (13, 'subtitles',             'Субтитры',                                'Subtitles',                       '{Г}',       13),
    (14, 'hearing_loop',          'Индукционная петля',                      'Hearing loop',                    '{Г}',       14),
    (15, 'easy_read',             'Материалы на лёгком языке',               'Easy read',                       '{У}',       15),
    (16, 'relaxed_performance',   'Расслабленный показ',                     'Relaxed performance',             '{У}',       16),
    (17, 'quiet_space',           'Тихая комната',                           'Quiet space',                     '{У,С,Г}',   17),
    (18, 'photosensitivity_safe', 'Без стробоскопов и вспышек',              'Photosensitivity safe',           '{У,С}',     18);

-- A profile names the constraints one МГН category usually needs; a search with a profile
-- requires all of them. They are data so that they can be tuned without a release.
CREATE TABLE accessibility_profiles (
    code     text PRIMARY KEY,
    mgn      text NOT NULL UNIQUE CHECK (mgn IN ('К', 'О', 'С', 'Г', 'У')),
    title_ru text NOT NULL,
    title_en text NOT NULL,
    position smallint NOT NULL UNIQUE
);

CREATE TABLE accessibility_profile_constraints (
    profile_code  text NOT NULL REFERENCES accessibility_profiles (code),
    constraint_id smallint NOT NULL REFERENCES accessibility_constraints (id),
    PRIMARY KEY (profile_code, constraint_id)
);

INSERT INTO accessibility_profiles (code, mgn, title_ru, title_en, position) VALUES
    ('wheelchair',   'К', 'Передвигаюсь на кресле-коляске',          'Wheelchair user',              1),
    ('mobility',     'О', 'Нарушения опорно-двигательного аппарата', 'Limited mobility',             2),
    ('vision',       'С', 'Нарушения зрения',                        'Blind or low vision',          3),
    ('hearing',      'Г', 'Нарушения слуха',                         'Deaf or hard of hearing',      4),
    ('intellectual', 'У', 'Ментальные нарушения',                    'Intellectual disability',      5);

INSERT INTO accessibility_profile_constraints (profile_code, constraint_id)
SELECT p, c.id FROM (VALUES
    ('wheelchair', 'step_free_entrance'), ('wheelchair', 'wheelchair_seating'), ('wheelchair', 'accessible_toilet'),
    ('mobility', 'step_free_entrance'), ('mobility', 'elevator'),
    ('vision', 'audio_description'), ('vision', 'guide_dog_allowed'),
    ('hearing', 'sign_language'),
    ('intellectual', 'easy_read'), ('intellectual', 'relaxed_performance')
) AS v (p, code) JOIN accessibility_constraints c ON c.code = v.code;
